#include "bindings/bindings.h"

PYBIND11_MODULE(_core, m) {
  using namespace aimass::bindings;
  m.doc() = "aimass native core (private: use the aimass package)";
  bind_errors(m);
  bind_tensor(m);
  bind_interop(m);
  bind_ops(m);
  bind_creation(m);
  bind_runtime(m);
  bind_autograd(m);
  py::module_ functional = m.def_submodule("functional", "neural-network ops (use aimass.nn.functional)");
  bind_functional_conv(functional);
  bind_functional_norm(functional);
  bind_functional_loss(functional);
  bind_nn(m);
  bind_optim(m);
  bind_metrics(m);
  bind_data(m);
  bind_knn(m);
  bind_serve(m);
  py::module_ nn = m.attr("nn");
  bind_training(nn);
  py::module_ quant = m.def_submodule("quant", "compression: quantisation ops, observers, pruning, distillation (use aimass.quant)");
  bind_quant(quant, nn);
  bind_qat(quant, nn);
  bind_prune(quant);
  bind_distill(quant);
  py::module_ hpo = m.def_submodule("hpo", "hyperparameter search: samplers, pruners, Pareto fronts (use aimass.hpo)");
  bind_hpo(hpo);
  bind_hpo_tpe(hpo);
  bind_hpo_evolution(hpo);
  bind_hpo_pruners(hpo);
}
