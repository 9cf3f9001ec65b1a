// aimass._core.optim: optimizers, LR schedules, gradient clipping, loss scaling. The classes
// use py::smart_holder, so another binding file can take the Python object as an
// `Optimizer&` or `std::shared_ptr<Optimizer>` (the native training loop does).
#include <optional>

#include "bindings/bindings.h"
#include "optim/grad_scaler.h"
#include "optim/lr_schedule.h"
#include "optim/optimizers.h"

namespace aimass::bindings {

namespace {

using namespace aimass::optim;
using Options = std::map<std::string, double>;

template <typename T>
void bind_algorithm(py::module_& m, const char* name, const char* doc) {
  py::class_<T, Optimizer, py::smart_holder>(m, name, doc)
      .def(py::init([](const Options& defaults) { return std::make_shared<T>(make_hyper(defaults)); }),
           py::arg("defaults"), "An empty optimizer with these default options; add groups with add_param_group.");
}

// (step, master or None, [buffer or None, ...]): one parameter's state, by position.
py::tuple state_tuple(const ParamState& s, size_t n) {
  auto opt = [](const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); };
  py::list buffers;
  for (size_t k = 0; k < n; ++k) buffers.append(opt(s.buffers[k]));
  return py::make_tuple(s.step, opt(s.master), buffers);
}

}  // namespace

void bind_optim(py::module_& parent) {
  py::module_ m = parent.def_submodule("optim", "optimizers, LR schedules, clipping (use aimass.optim)");
  py::class_<Optimizer, py::smart_holder>(m, "Optimizer", "A native optimizer (see aimass.optim).")
      .def("step", [](Optimizer& o) { without_gil([&] { o.step(); }); })
      .def("zero_grad", &Optimizer::zero_grad)
      .def("lr", &Optimizer::lr, py::arg("group") = 0)
      .def("set_lr", &Optimizer::set_lr, py::arg("lr"), py::arg("group") = -1)
      .def_property_readonly("num_groups", &Optimizer::num_groups)
      .def("params", &Optimizer::params, py::arg("group"))
      .def_property_readonly("name", &Optimizer::name)
      .def("_add_param_group", &Optimizer::add_param_group, py::arg("params"), py::arg("options"))
      .def_property_readonly("option_names", &Optimizer::option_names)
      .def("is_flag", &Optimizer::is_flag)
      .def("option", &Optimizer::option, py::arg("group"), py::arg("key"))
      .def("set_option", &Optimizer::set_option, py::arg("group"), py::arg("key"), py::arg("value"))
      .def("default_option", &Optimizer::default_option, py::arg("key"))
      .def_property_readonly("state_names", &Optimizer::state_names)
      .def("_state", [](const Optimizer& o, size_t g, size_t i) { return state_tuple(o.state(g, i), o.state_names().size()); })
      .def("_set_state", [](Optimizer& o, size_t g, size_t i, int64_t step, std::optional<Tensor> master,
                            const std::vector<std::optional<Tensor>>& buffers) {
        ParamState s;
        s.step = step;
        if (master) s.master = *master;
        for (size_t k = 0; k < buffers.size() && k < 3; ++k)
          if (buffers[k]) s.buffers[k] = *buffers[k];
        o.set_state(g, i, s);
      });
  bind_algorithm<SGD>(m, "SGD", "Stochastic gradient descent with momentum, dampening, Nesterov, weight decay.");
  bind_algorithm<Adam>(m, "Adam", "Adam, optionally AMSGrad, with L2 weight decay.");
  py::class_<AdamW, Adam, py::smart_holder>(m, "AdamW", "Adam with decoupled weight decay.")
      .def(py::init([](const Options& d) { return std::make_shared<AdamW>(make_hyper(d)); }), py::arg("defaults"));
  bind_algorithm<RMSprop>(m, "RMSprop", "RMSprop, optionally centered, with momentum.");
  bind_algorithm<Adagrad>(m, "Adagrad", "Adagrad with lr decay.");
  bind_algorithm<Lion>(m, "Lion", "Lion: the sign of an interpolated momentum.");

  m.def("clip_grad_norm_", [](const std::vector<Tensor>& params, double max_norm) {
    return without_gil([&] { return clip_grad_norm_(params, max_norm); });
  }, py::arg("parameters"), py::arg("max_norm"));
  m.def("clip_grad_value_", [](const std::vector<Tensor>& params, double clip_value) {
    without_gil([&] { clip_grad_value_(params, clip_value); });
  }, py::arg("parameters"), py::arg("clip_value"));

  py::class_<GradScaler, py::smart_holder>(m, "GradScaler")
      .def(py::init<double, double, double, int64_t, bool>(), py::arg("init_scale") = 65536.0,
           py::arg("growth_factor") = 2.0, py::arg("backoff_factor") = 0.5, py::arg("growth_interval") = 2000,
           py::arg("enabled") = true)
      .def("get_scale", &GradScaler::scale)
      .def("is_enabled", &GradScaler::enabled)
      .def("unscale_", [](GradScaler& s, Optimizer& o) { without_gil([&] { s.unscale_(o); }); }, py::arg("optimizer"))
      .def("_step", [](GradScaler& s, Optimizer& o) { return without_gil([&] { return s.step(o); }); },
           py::arg("optimizer"))
      .def("update", &GradScaler::update, py::arg("new_scale") = py::none())
      .def("get_growth_factor", &GradScaler::growth_factor)
      .def("get_backoff_factor", &GradScaler::backoff_factor)
      .def("get_growth_interval", &GradScaler::growth_interval)
      .def("_get_growth_tracker", &GradScaler::growth_tracker)
      .def("_set_state", &GradScaler::set_state, py::arg("scale"), py::arg("growth_tracker"));

  using Opt = std::shared_ptr<Optimizer>;
  py::class_<LRScheduler, py::smart_holder>(m, "LRScheduler")
      .def("step", [](LRScheduler& s) { s.step(); })
      .def_property_readonly("last_epoch", &LRScheduler::last_epoch)
      .def_property_readonly("base_lrs", &LRScheduler::base_lrs)
      .def("get_last_lr", &LRScheduler::last_lr)
      .def_property_readonly("optimizer", &LRScheduler::optimizer)
      .def("_set_last_epoch", &LRScheduler::set_last_epoch);
  py::class_<StepLR, LRScheduler, py::smart_holder>(m, "StepLR")
      .def(py::init<Opt, int64_t, double>(), py::arg("optimizer"), py::arg("step_size"), py::arg("gamma") = 0.1);
  py::class_<MultiStepLR, LRScheduler, py::smart_holder>(m, "MultiStepLR")
      .def(py::init<Opt, std::vector<int64_t>, double>(), py::arg("optimizer"), py::arg("milestones"),
           py::arg("gamma") = 0.1);
  py::class_<ExponentialLR, LRScheduler, py::smart_holder>(m, "ExponentialLR")
      .def(py::init<Opt, double>(), py::arg("optimizer"), py::arg("gamma"));
  py::class_<CosineAnnealingLR, LRScheduler, py::smart_holder>(m, "CosineAnnealingLR")
      .def(py::init<Opt, int64_t, double>(), py::arg("optimizer"), py::arg("T_max"), py::arg("eta_min") = 0.0);
  py::class_<CosineAnnealingWarmRestarts, LRScheduler, py::smart_holder>(m, "CosineAnnealingWarmRestarts")
      .def(py::init<Opt, int64_t, int64_t, double>(), py::arg("optimizer"), py::arg("T_0"), py::arg("T_mult") = 1,
           py::arg("eta_min") = 0.0)
      .def("_step_to", &CosineAnnealingWarmRestarts::step_to, py::arg("epoch"))
      .def_property_readonly("T_cur", &CosineAnnealingWarmRestarts::T_cur)
      .def_property_readonly("T_i", &CosineAnnealingWarmRestarts::T_i);
  py::class_<LinearLR, LRScheduler, py::smart_holder>(m, "LinearLR")
      .def(py::init<Opt, double, double, int64_t>(), py::arg("optimizer"), py::arg("start_factor") = 1.0 / 3,
           py::arg("end_factor") = 1.0, py::arg("total_iters") = 5);
  py::class_<OneCycleLR, LRScheduler, py::smart_holder>(m, "OneCycleLR")
      .def(py::init<Opt, std::vector<double>, int64_t, double, const std::string&, bool, double, double, double,
                    double, bool>(),
           py::arg("optimizer"), py::arg("max_lr"), py::arg("total_steps"), py::arg("pct_start") = 0.3,
           py::arg("anneal_strategy") = "cos", py::arg("cycle_momentum") = true, py::arg("base_momentum") = 0.85,
           py::arg("max_momentum") = 0.95, py::arg("div_factor") = 25.0, py::arg("final_div_factor") = 1e4,
           py::arg("three_phase") = false);
  py::class_<ReduceLROnPlateau, py::smart_holder>(m, "ReduceLROnPlateau")
      .def(py::init<Opt, const std::string&, double, int64_t, double, const std::string&, int64_t,
                    std::vector<double>, double>(),
           py::arg("optimizer"), py::arg("mode") = "min", py::arg("factor") = 0.1, py::arg("patience") = 10,
           py::arg("threshold") = 1e-4, py::arg("threshold_mode") = "rel", py::arg("cooldown") = 0,
           py::arg("min_lr") = std::vector<double>{0.0}, py::arg("eps") = 1e-8)
      .def("step", &ReduceLROnPlateau::step, py::arg("metrics"))
      .def("get_last_lr", &ReduceLROnPlateau::last_lr)
      .def_property_readonly("best", &ReduceLROnPlateau::best)
      .def_property_readonly("num_bad_epochs", &ReduceLROnPlateau::num_bad_epochs)
      .def_property_readonly("cooldown_counter", &ReduceLROnPlateau::cooldown_counter)
      .def_property_readonly("last_epoch", &ReduceLROnPlateau::last_epoch)
      .def_property_readonly("optimizer", &ReduceLROnPlateau::optimizer)
      .def("_set_state", &ReduceLROnPlateau::set_state);
}

}  // namespace aimass::bindings
