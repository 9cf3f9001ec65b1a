// aimass._core.functional: normalisation, dropout and activations.
#include "autograd/functions.h"
#include "bindings/bindings.h"
#include "ops/norm.h"

namespace aimass::bindings {

namespace ag = ::aimass::autograd;

namespace {

Tensor optional_tensor(const py::object& obj, const Tensor& like) {
  return obj.is_none() ? Tensor() : to_tensor(obj, &like);
}

}  // namespace

void bind_functional_norm(py::module_& f) {
  f.def("layer_norm", [](const py::object& x, const py::object& normalized_shape, const py::object& weight,
                         const py::object& bias, double eps) {
    Tensor t = to_tensor(x, nullptr);
    Shape shape = to_shape_arg(normalized_shape);
    Tensor w = optional_tensor(weight, t), b = optional_tensor(bias, t);
    return without_gil([&] { return ag::layer_norm(t, layer_norm_dims(t, shape), w, b, eps); });
  }, py::arg("x"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
     py::arg("eps") = 1e-5);
  f.def("batch_norm", [](const py::object& x, const py::object& running_mean, const py::object& running_var,
                         const py::object& weight, const py::object& bias, bool training, double momentum,
                         double eps) {
    Tensor t = to_tensor(x, nullptr);
    Tensor rm = optional_tensor(running_mean, t), rv = optional_tensor(running_var, t);
    Tensor w = optional_tensor(weight, t), b = optional_tensor(bias, t);
    return without_gil([&] { return ag::batch_norm(t, rm, rv, w, b, training, momentum, eps); });
  }, py::arg("x"), py::arg("running_mean"), py::arg("running_var"), py::arg("weight") = py::none(),
     py::arg("bias") = py::none(), py::arg("training") = false, py::arg("momentum") = 0.1, py::arg("eps") = 1e-5);
  f.def("dropout", [](const py::object& x, double p, bool training) {
    Tensor t = to_tensor(x, nullptr);
    return without_gil([&] { return ag::dropout(t, p, training); });
  }, py::arg("x"), py::arg("p") = 0.5, py::arg("training") = true);
  f.def("gelu", [](const py::object& x, bool tanh_approximation) {
    Tensor t = to_tensor(x, nullptr);
    return without_gil([&] { return ag::gelu(t, tanh_approximation); });
  }, py::arg("x"), py::arg("tanh_approximation") = false);
  f.def("silu", [](const py::object& x) {
    Tensor t = to_tensor(x, nullptr);
    return without_gil([&] { return ag::silu(t); });
  }, py::arg("x"));
  f.def("leaky_relu", [](const py::object& x, double negative_slope) {
    Tensor t = to_tensor(x, nullptr);
    return without_gil([&] { return ag::leaky_relu(t, negative_slope); });
  }, py::arg("x"), py::arg("negative_slope") = 0.01);
}

}  // namespace aimass::bindings
