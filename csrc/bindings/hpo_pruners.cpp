// aimass._core.hpo: pruners' decisions (hpo/pruners.h) and parameter importances (hpo/importance.h).
#include "bindings/bindings.h"
#include "core/error.h"
#include "hpo/importance.h"
#include "hpo/pruners.h"

namespace aimass::bindings {
namespace {

using Vector = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Steps = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using Counts = Steps;
using Matrix = Vector;

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
  hpo.def("hyperband_brackets", [](const std::string& study_name, int64_t n_trials,
                                   const std::vector<int64_t>& budgets) {
    auto ids = hpo::hyperband_brackets(study_name, n_trials, budgets);
    return py::array_t<int64_t>(py::ssize_t(ids.size()), ids.data());
  }, py::arg("study_name"), py::arg("n_trials"), py::arg("budgets"), "the brackets of trials 0 .. n_trials - 1");
  hpo.def("crc32", [](const py::bytes& b) { return hpo::crc32(std::string(b)); }, py::arg("data"));
  hpo.def("patient_no_improvement", [](const Vector& values, int64_t patience, double min_delta, bool maximize) {
    return hpo::patient_no_improvement(data_of(values, "values"), values.shape(0), patience, min_delta, maximize);
  }, py::arg("values"), py::arg("patience"), py::arg("min_delta"), py::arg("maximize"));  hpo.def("wilcoxon_signed_rank_pvalue", [](const Vector& diffs, bool greater) {
    return hpo::wilcoxon_signed_rank_pvalue(data_of(diffs, "diffs"), diffs.shape(0), greater);
  }, py::arg("diffs"), py::arg("greater"), "scipy.stats.wilcoxon(diffs, alternative, zero_method='zsplit').pvalue");

  // ---- importances
  hpo.def("ped_anova_divergence", [](const Counts& top, const Counts& region, bool categorical, double prior_weight,
                                     bool evaluate_on_local) {
    AM_CHECK(top.ndim() == 1 && region.ndim() == 1 && top.shape(0) == region.shape(0), ValueError,
             "ped_anova_divergence: top and region counts must be 1-d of the same grid size");
    return hpo::ped_anova_divergence(top.data(), region.data(), top.shape(0), categorical, prior_weight,
                                     evaluate_on_local);
  }, py::arg("top_counts"), py::arg("region_counts"), py::arg("categorical"), py::arg("prior_weight") = 1.0,
     py::arg("evaluate_on_local") = true, "Pearson divergence of the top trials' Parzen estimator from the region's");
  hpo.def("parzen_pdf_on_grid", [](const Counts& counts, bool categorical, double prior_weight) {
    AM_CHECK(counts.ndim() == 1, ValueError, "counts must be 1-d");
    auto pdf = hpo::parzen_pdf_on_grid(counts.data(), counts.shape(0), categorical, prior_weight);
    return py::array_t<double>(py::ssize_t(pdf.size()), pdf.data());
  }, py::arg("counts"), py::arg("categorical"), py::arg("prior_weight") = 1.0);
  hpo.def("fanova_importances", [](const Matrix& X, const Vector& y, const Matrix& bounds,
                                   const std::vector<std::vector<int64_t>>& groups, int64_t n_trees, int64_t max_depth,
                                   uint64_t seed) {
    AM_CHECK(X.ndim() == 2 && y.ndim() == 1 && y.shape(0) == X.shape(0), ValueError,
             "fanova_importances: X must be [n, d] and y [n]");
    AM_CHECK(bounds.ndim() == 2 && bounds.shape(0) == X.shape(1) && bounds.shape(1) == 2, ValueError,
             "fanova_importances: bounds must be [d, 2]");
    std::vector<double> out;
    {
      py::gil_scoped_release release;
      out = hpo::fanova_importances(X.data(), y.data(), X.shape(0), X.shape(1), bounds.data(), groups, n_trees,
                                    max_depth, seed);
    }
    return py::array_t<double>(py::ssize_t(out.size()), out.data());
  }, py::arg("X"), py::arg("y"), py::arg("bounds"), py::arg("groups"), py::arg("n_trees") = 64,
     py::arg("max_depth") = 64, py::arg("seed") = 0, "fANOVA importance of each group of columns");
}

}  // namespace aimass::bindings
