// aimass._core.hpo: pruners' decisions (hpo/pruners.h) and parameter importances (hpo/importance.h).
#include "bindings/bindings.h"
#include "core/error.h"
#include "hpo/pruners.h"

namespace aimass::bindings {
namespace {

using Vector = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Steps = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

const double* data_of(const Vector& v, const char* what) {
  AM_CHECK(v.ndim() == 1, ValueError, what, " must be 1-d, got ", v.ndim(), " dimensions");
  return v.data();
}

}  // namespace

void bind_hpo_pruners(py::module_& hpo) {
  hpo.def("best_intermediate", [](const Vector& values, bool maximize) {
    return hpo::best_intermediate(data_of(values, "values"), values.shape(0), maximize);
  }, py::arg("values"), py::arg("maximize"), "nanmax (maximize) or nanmin of values; NaN when all are NaN");
  hpo.def("nan_percentile", [](const Vector& values, double q) {
    return hpo::nan_percentile(data_of(values, "values"), values.shape(0), q);
  }, py::arg("values"), py::arg("q"), "numpy.nanpercentile(values, q) (linear method)");
  hpo.def("is_first_in_interval_step", [](int64_t step, const Steps& steps, int64_t n_warmup, int64_t interval) {
    AM_CHECK(steps.ndim() == 1, ValueError, "steps must be 1-d");
    return hpo::is_first_in_interval_step(step, steps.data(), steps.shape(0), n_warmup, interval);
  }, py::arg("step"), py::arg("steps"), py::arg("n_warmup_steps"), py::arg("interval_steps"));
  hpo.def("percentile_should_prune", [](double best, const Vector& others, double percentile, int64_t n_min_trials,
                                        bool maximize) {
    return hpo::percentile_should_prune(best, data_of(others, "others"), others.shape(0), percentile, n_min_trials,
                                        maximize);
  }, py::arg("best"), py::arg("others"), py::arg("percentile"), py::arg("n_min_trials"), py::arg("maximize"));
  hpo.def("rung_promotion_step", &hpo::rung_promotion_step, py::arg("min_resource"), py::arg("reduction_factor"),
          py::arg("min_early_stopping_rate"), py::arg("rung"));
  hpo.def("asha_promotable", [](double value, const Vector& competing, int64_t reduction_factor, bool maximize) {
    return hpo::asha_promotable(value, data_of(competing, "competing"), competing.shape(0), reduction_factor,
                                maximize);
  }, py::arg("value"), py::arg("competing"), py::arg("reduction_factor"), py::arg("maximize"));
  hpo.def("hyperband_n_brackets", &hpo::hyperband_n_brackets, py::arg("min_resource"), py::arg("max_resource"),
          py::arg("reduction_factor"));
  hpo.def("hyperband_budgets", &hpo::hyperband_budgets, py::arg("n_brackets"), py::arg("reduction_factor"));
  hpo.def("hyperband_bracket", &hpo::hyperband_bracket, py::arg("study_name"), py::arg("trial_number"),
          py::arg("budgets"));
  hpo.def("crc32", [](const py::bytes& b) { return hpo::crc32(std::string(b)); }, py::arg("data"));
  hpo.def("patient_no_improvement", [](const Vector& values, int64_t patience, double min_delta, bool maximize) {
    return hpo::patient_no_improvement(data_of(values, "values"), values.shape(0), patience, min_delta, maximize);
  }, py::arg("values"), py::arg("patience"), py::arg("min_delta"), py::arg("maximize"));
}

}  // namespace aimass::bindings
