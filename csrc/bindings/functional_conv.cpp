// aimass._core.functional: convolution and pooling. Arguments arrive normalised by
// python/aimass/nn/functional/_conv.py (pairs, explicit four-sided padding).
#include <array>

#include "autograd/functions.h"
#include "bindings/bindings.h"

namespace aimass::bindings {

namespace ag = aimass::autograd;
using Pair = std::array<int64_t, 2>;

void bind_functional_conv(py::module_& f) {
  f.def("conv2d", [](const py::object& x, const py::object& weight, const py::object& bias, Pair stride,
                     std::array<int64_t, 4> padding, Pair dilation, int64_t groups) {
    Tensor tx = to_tensor(x, nullptr), tw = to_tensor(weight, &tx);
    Tensor tb = bias.is_none() ? Tensor() : to_tensor(bias, &tx);
    Conv2dParams p{stride[0], stride[1], padding[0], padding[1], padding[2], padding[3], dilation[0], dilation[1],
                   groups};
    return without_gil([&] { return ag::conv2d(tx, tw, tb, p); });
  }, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
     py::arg("groups"), "padding: (top, bottom, left, right)");
  f.def("same_padding", &same_padding, py::arg("in"), py::arg("kernel"), py::arg("stride"), py::arg("dilation"));
  f.def("max_pool2d", [](const py::object& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode) {
    Tensor tx = to_tensor(x, nullptr);
    Pool2dParams p{kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], ceil_mode, true};
    return without_gil([&] { return ag::max_pool2d(tx, p); });
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"));
  f.def("avg_pool2d", [](const py::object& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode,
                         bool count_include_pad) {
    Tensor tx = to_tensor(x, nullptr);
    Pool2dParams p{kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], ceil_mode, count_include_pad};
    return without_gil([&] { return ag::avg_pool2d(tx, p); });
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
     py::arg("count_include_pad"));
}

}  // namespace aimass::bindings
