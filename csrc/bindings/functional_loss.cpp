// aimass._core.functional: losses and linear.
#include "autograd/functions.h"
#include "bindings/bindings.h"

namespace aimass::bindings {

namespace ag = aimass::autograd;

namespace {

Tensor optional_tensor(const py::object& x, const Tensor& like) { return x.is_none() ? Tensor() : to_tensor(x, &like); }

}  // namespace

void bind_functional_loss(py::module_& f) {
  f.def("linear", [](const py::object& x, const py::object& weight, const py::object& bias, const std::string& act) {
    Tensor tx = to_tensor(x, nullptr), tw = to_tensor(weight, &tx), tb = optional_tensor(bias, tx);
    LinearActivation a = parse_linear_activation(act);
    return without_gil([&] { return ag::linear(tx, tw, tb, a); });
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("activation") = "none");

  // The elementwise losses: (input, target, reduction) -> Tensor, with the target already a tensor.
  auto def_loss = [&f](const char* name, Tensor (*fn)(const Tensor&, const Tensor&, Reduction)) {
    f.def(name, [name, fn](const Tensor& input, const Tensor& target, const std::string& reduction) {
      Reduction r = parse_reduction(reduction, name);
      return without_gil([&] { return fn(input, target, r); });
    }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  };
  def_loss("mse_loss", ag::mse_loss);
  def_loss("l1_loss", ag::l1_loss);
  f.def("huber_loss", [](const Tensor& input, const Tensor& target, double delta, const std::string& reduction) {
    Reduction r = parse_reduction(reduction, "huber_loss");
    return without_gil([&] { return ag::huber_loss(input, target, delta, r); });
  }, py::arg("input"), py::arg("target"), py::arg("delta") = 1.0, py::arg("reduction") = "mean");
  f.def("binary_cross_entropy_with_logits", [](const Tensor& input, const Tensor& target, const py::object& weight,
                                               const py::object& pos_weight, const std::string& reduction) {
    Tensor w = optional_tensor(weight, input), pw = optional_tensor(pos_weight, input);
    Reduction r = parse_reduction(reduction, "binary_cross_entropy_with_logits");
    return without_gil([&] { return ag::binary_cross_entropy_with_logits(input, target, w, pw, r); });
  }, py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("pos_weight") = py::none(),
     py::arg("reduction") = "mean");
  f.def("kl_div", [](const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
    Reduction r = parse_reduction(reduction, "kl_div", /*allow_batchmean=*/true);
    return without_gil([&] { return ag::kl_div(input, target, r, log_target); });
  }, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean", py::arg("log_target") = false);
  f.def("distillation_loss", [](const Tensor& student, const Tensor& teacher, double temperature,
                                const std::string& reduction) {
    Reduction r = parse_reduction(reduction, "distillation_loss", /*allow_batchmean=*/true);
    return without_gil([&] { return ag::distillation_loss(student, teacher, temperature, r); });
  }, py::arg("student_logits"), py::arg("teacher_logits"), py::arg("temperature") = 1.0,
     py::arg("reduction") = "batchmean");
}

}  // namespace aimass::bindings
