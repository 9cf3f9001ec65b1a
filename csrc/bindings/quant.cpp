// aimass._core.nn's quantised layers and aimass._core.quant: the quantisation ops, kernels'
// names and calibration observers behind aimass.quant.
#include "bindings/bindings.h"
#include "core/error.h"
#include "nn/layer_args.h"
#include "nn/quantized.h"
#include "ops/quant.h"
#include "quant/int8_gemm.h"
#include "quant/observer.h"
#include "quant/quantize.h"
#include "quant/weight_only.h"

namespace aimass::bindings {

using namespace aimass::nn;

namespace {

template <typename T>
using Class = py::class_<T, Module, py::smart_holder>;

Activation activation_of(const std::optional<std::string>& name, const char* layer) {
  return parse_activation(name, layer);
}

ActivationQuant act_quant(const std::optional<float>& scale, const std::optional<int32_t>& zero) {
  ActivationQuant aq;
  aq.dynamic = !scale.has_value();
  if (scale) aq.scale = *scale;
  if (zero) aq.zero = *zero;
  return aq;
}

void bind_quantized_layers(py::module_& nn) {
  Class<QuantizedDense>(nn, "QuantizedDense")
      .def(py::init([](int64_t units, int64_t in_features, const std::optional<std::string>& activation, bool use_bias,
                       const std::string& activations) {
        QuantizedDenseOptions o;
        o.units = units;
        o.in_features = in_features;
        o.activation = activation_of(activation, "QuantizedDense");
        o.use_bias = use_bias;
        AM_CHECK(activations == "dynamic" || activations == "static", ValueError,
                 "QuantizedDense: activations must be 'dynamic' or 'static', got '", activations, "'");
        o.static_activations = activations == "static";
        return std::make_shared<QuantizedDense>(o);
      }), py::arg("units"), py::arg("in_features"), py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("activations") = "dynamic");

  Class<QuantizedConv2D>(nn, "QuantizedConv2D")
      .def(py::init([](int64_t filters, const IntOrPair& kernel_size, const IntOrPair& strides,
                       const PaddingArg& padding, const IntOrPair& dilation, const std::optional<std::string>& activation,
                       bool use_bias, int64_t in_channels) {
        ConvOptions o;
        o.filters = filters;
        o.kernel = int_pair(kernel_size, "kernel_size");
        o.stride = int_pair(strides, "strides");
        o.dilation = int_pair(dilation, "dilation");
        o.set_padding(parse_padding(padding, "QuantizedConv2D"));
        o.activation = activation_of(activation, "QuantizedConv2D");
        o.use_bias = use_bias;
        o.in_channels = in_channels;
        return std::make_shared<QuantizedConv2D>(o);
      }), py::arg("filters"), py::arg("kernel_size"), py::arg("strides") = 1, py::arg("padding") = "valid",
         py::arg("dilation") = 1, py::arg("activation") = py::none(), py::arg("use_bias") = true,
         py::arg("in_channels"));

  Class<QuantizedEmbedding>(nn, "QuantizedEmbedding")
      .def(py::init<int64_t, int64_t>(), py::arg("num_embeddings"), py::arg("embedding_dim"));

  Class<WeightOnlyDense>(nn, "WeightOnlyDense")
      .def(py::init([](int64_t units, int64_t in_features, int bits, int64_t group_size,
                       const std::optional<std::string>& activation, bool use_bias) {
        WeightOnlyDenseOptions o;
        o.units = units;
        o.in_features = in_features;
        o.bits = bits;
        o.group_size = group_size;
        o.activation = activation_of(activation, "WeightOnlyDense");
        o.use_bias = use_bias;
        return std::make_shared<WeightOnlyDense>(o);
      }), py::arg("units"), py::arg("in_features"), py::arg("bits") = 4, py::arg("group_size") = 128,
         py::arg("activation") = py::none(), py::arg("use_bias") = true);
}

void bind_quant_ops(py::module_& q) {
  q.def("quantize_per_channel_s8", [](const Tensor& w) { return without_gil([&] { return quantize_per_channel_s8(w); }); },
        py::arg("w"), "float (N, K) -> (int8 (N, K), float32 scale (N,)): symmetric, per output channel.");
  q.def("quantize_weight_only", [](const Tensor& w, int64_t group, int bits) {
          return without_gil([&] { return quantize_weight_only(w, group, bits); });
        }, py::arg("w"), py::arg("group_size"), py::arg("bits"),
        "float (N, K) -> (uint8 q (N, row_bytes), float16 scales (N, groups)).");
  q.def("dequantize_weight_only", [](const Tensor& qv, const Tensor& scales, int64_t k, int64_t group, int bits) {
          return without_gil([&] { return dequantize_weight_only(qv, scales, k, group, bits); });
        }, py::arg("q"), py::arg("scales"), py::arg("in_features"), py::arg("group_size"), py::arg("bits"));
  q.def("int8_linear", [](const Tensor& x, const Tensor& w_int8, const Tensor& w_scale, const std::optional<Tensor>& bias,
                          const std::optional<float>& scale, const std::optional<int32_t>& zero, bool relu) {
          return without_gil(
              [&] { return int8_linear(x, w_int8, w_scale, bias.value_or(Tensor()), act_quant(scale, zero), relu); });
        }, py::arg("x"), py::arg("w"), py::arg("w_scale"), py::arg("bias") = py::none(), py::arg("input_scale") = py::none(),
        py::arg("input_zero_point") = py::none(), py::arg("relu") = false,
        "x (..., K) float, w int8 (N, K) -> float32 (..., N); activations per row (dynamic) unless input_scale is given.");
  q.def("weight_only_linear", [](const Tensor& x, const Tensor& qv, const Tensor& scales, int64_t k, int64_t group,
                                 int bits, const std::optional<Tensor>& bias, bool relu) {
          return without_gil([&] { return weight_only_linear(x, qv, scales, k, group, bits, bias.value_or(Tensor()), relu); });
        }, py::arg("x"), py::arg("q"), py::arg("scales"), py::arg("in_features"), py::arg("group_size"), py::arg("bits"),
        py::arg("bias") = py::none(), py::arg("relu") = false);
  q.def("int8_gemm_kernel", &quant::int8_gemm_kernel_name, "The int8 GEMM kernel in use: avx512_vnni, avx2 or baseline.");
  q.def("weight_only_kernel", &quant::weight_only_kernel_name, "The weight-only GEMM kernel in use.");
  q.def("u8_qparams", [](float lo, float hi, bool symmetric) {
          quant::QParams p = quant::u8_qparams(lo, hi, symmetric);
          return py::make_tuple(p.scale, p.zero);
        }, py::arg("lo"), py::arg("hi"), py::arg("symmetric") = false);

  py::class_<quant::Observer>(q, "Observer")
      .def(py::init([](const std::string& method, double momentum, double percentile, int64_t bins) {
        return quant::Observer(quant::observer_method_from_name(method), momentum, percentile, bins);
      }), py::arg("method") = "minmax", py::arg("momentum") = 0.01, py::arg("percentile") = 99.99,
         py::arg("bins") = 2048)
      .def("update", [](quant::Observer& o, py::array_t<float, py::array::c_style | py::array::forcecast> x) {
        const float* data = x.data();
        const int64_t n = int64_t(x.size());
        without_gil([&] { o.update(data, n); return 0; });
      }, py::arg("x"), "Watches one batch of float values (any shape).")
      .def("range", &quant::Observer::range)
      .def("qparams", [](const quant::Observer& o, bool symmetric) {
        quant::QParams p = o.qparams(symmetric);
        return py::make_tuple(p.scale, p.zero);
      }, py::arg("symmetric") = false, "(scale, zero_point) of u8 activations for the observed range.")
      .def_property_readonly("count", &quant::Observer::count)
      .def_property_readonly("min", &quant::Observer::min)
      .def_property_readonly("max", &quant::Observer::max);
}

}  // namespace

void bind_quant(py::module_& quant, py::module_& nn) {
  bind_quantized_layers(nn);
  bind_quant_ops(quant);
}

}  // namespace aimass::bindings
