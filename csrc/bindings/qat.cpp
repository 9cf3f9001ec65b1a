// Quantisation-aware training: the fake-quantisation ops in aimass._core.quant (differentiable,
// straight-through) and the QAT layers in aimass._core.nn, behind am.quant.prepare_qat / convert.
#include "autograd/fake_quant.h"
#include "bindings/bindings.h"
#include "nn/layer_args.h"
#include "nn/qat.h"
#include "ops/fake_quant.h"

namespace aimass::bindings {

using namespace aimass::nn;
namespace ag = aimass::autograd;

namespace {

QatOptions qat_options(const std::string& method, double momentum, const char* layer) {
  QatOptions q;
  q.method = range_method_from_name(method, layer);
  q.momentum = momentum;
  return q;
}

void bind_qat_layers(py::module_& nn) {
  py::class_<FakeQuantDense, Module, py::smart_holder>(nn, "FakeQuantDense")
      .def(py::init([](int64_t units, int64_t in_features, const std::optional<std::string>& activation, bool use_bias,
                       const std::string& method, double momentum) {
        FakeQuantDenseOptions o;
        o.units = units;
        o.in_features = in_features;
        o.activation = parse_activation(activation, "FakeQuantDense");
        o.use_bias = use_bias;
        o.qat = qat_options(method, momentum, "FakeQuantDense");
        return std::make_shared<FakeQuantDense>(o);
      }), py::arg("units"), py::arg("in_features"), py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("method") = "moving_average", py::arg("momentum") = 0.01);

  py::class_<FakeQuantConv2D, Module, py::smart_holder>(nn, "FakeQuantConv2D")
      .def(py::init([](int64_t filters, const IntOrPair& kernel_size, const IntOrPair& strides,
                       const PaddingArg& padding, const IntOrPair& dilation, int64_t groups,
                       const std::optional<std::string>& activation, bool use_bias, const std::string& kernel_init,
                       const std::string& bias_init, int64_t in_channels, const std::string& method, double momentum) {
        ConvOptions o;
        o.filters = filters;
        o.kernel = int_pair(kernel_size, "kernel_size");
        o.stride = int_pair(strides, "strides");
        o.dilation = int_pair(dilation, "dilation");
        o.set_padding(parse_padding(padding, "FakeQuantConv2D"));
        o.groups = groups;
        o.activation = parse_activation(activation, "FakeQuantConv2D");
        o.use_bias = use_bias;
        o.kernel_init = parse_init(kernel_init, "FakeQuantConv2D");
        o.bias_init = parse_init(bias_init, "FakeQuantConv2D");
        o.in_channels = in_channels;
        return std::make_shared<FakeQuantConv2D>(o, qat_options(method, momentum, "FakeQuantConv2D"));
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("groups") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("kernel_initializer") = "glorot_uniform", py::arg("bias_initializer") = "zeros",
         py::arg("in_channels"), py::arg("method") = "moving_average", py::arg("momentum") = 0.01);
}

void bind_fake_quant_ops(py::module_& q) {
  q.def("fake_quant_per_tensor_u8", [](const py::object& x, float scale, int32_t zero) {
          Tensor t = to_tensor(x, nullptr);
          return without_gil([&] { return ag::fake_quant_per_tensor_u8(t, scale, zero); });
        }, py::arg("x"), py::arg("scale"), py::arg("zero_point"),
        "dequant(quant(x)) on the u8 grid (scale, zero_point); straight-through gradient, 0 where clamped.");
  q.def("fake_quant_per_channel_s8", [](const py::object& w, const py::object& scales) {
          Tensor t = to_tensor(w, nullptr), s = to_tensor(scales, nullptr);
          return without_gil([&] { return ag::fake_quant_per_channel_s8(t, s); });
        }, py::arg("w"), py::arg("scales"),
        "w (N, ...) on the symmetric s8 grid of scales (N,); straight-through gradient, 0 where clamped.");
  q.def("weight_scales_s8", [](const py::object& w) {
          Tensor t = to_tensor(w, nullptr);
          return without_gil([&] { return weight_scales_s8(t); });
        }, py::arg("w"), "float32 (N,): max |w[n]| / 127 (1 for an all-zero channel), as int8 conversion chooses them.");
}

}  // namespace

void bind_qat(py::module_& quant, py::module_& nn) {
  bind_qat_layers(nn);
  bind_fake_quant_ops(quant);
}

}  // namespace aimass::bindings
