#include "metrics/regression.h"

#include <cmath>
#include <numeric>

#include "metrics/common.h"

namespace aimass::metrics {
namespace {

// y_true, y_pred as row-major (n, k) doubles, after scikit-learn's _check_reg_targets.
struct Targets {
  int64_t n = 0, k = 1;
  std::vector<double> y, p, w;  // w empty: unweighted
};

Targets read_targets(const char* op, const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                     const std::string& multioutput, const Tensor& output_weights, bool allow_variance_weighted) {
  AM_CHECK(y_true.dim() >= 1 && y_true.dim() <= 2 && y_pred.dim() >= 1 && y_pred.dim() <= 2, ValueError, op,
           ": y_true and y_pred must be (N,) or (N, K), got ", y_true.describe(), " and ", y_pred.describe());
  Targets t;
  t.n = y_true.size(0);
  check_consistent_length(op, {t.n, y_pred.size(0)});
  t.k = y_true.dim() == 2 ? y_true.size(1) : 1;
  int64_t kp = y_pred.dim() == 2 ? y_pred.size(1) : 1;
  AM_CHECK(t.k == kp, ValueError, op, ": y_true and y_pred have different number of output (", t.k, "!=", kp, ")");
  AM_CHECK(t.n >= 1, ValueError, op, ": Found array with 0 sample(s) while a minimum of 1 is required.");
  bool known = multioutput == "raw_values" || multioutput == "uniform_average" || multioutput == "weights" ||
               (allow_variance_weighted && multioutput == "variance_weighted");
  AM_CHECK(known, ValueError, op, ": Allowed 'multioutput' string values are ",
           allow_variance_weighted ? "('raw_values', 'uniform_average', 'variance_weighted')"
                                   : "('raw_values', 'uniform_average')",
           ". You provided multioutput='", multioutput, "'");
  if (multioutput == "weights") {
    AM_CHECK(t.k > 1, ValueError, op, ": Custom weights are useful only in multi-output cases.");
    AM_CHECK(output_weights.defined() && output_weights.dim() == 1 && output_weights.size(0) == t.k, ValueError, op,
             ": There must be equally many custom weights (",
             output_weights.defined() ? output_weights.numel() : 0, ") as outputs (", t.k, ").");
  }
  t.y = to_doubles(y_true), t.p = to_doubles(y_pred);
  for (const auto* v : {&t.y, &t.p})
    for (double x : *v) AM_CHECK(std::isfinite(x), ValueError, op, ": Input contains NaN or infinity.");
  check_sample_weight(sample_weight, t.n, op);
  if (sample_weight.defined()) t.w = to_doubles(sample_weight);
  return t;
}

// Per column: sum_i w_i f(y_ij, p_ij) / sum_i w_i (the plain mean without weights).
template <typename F>
std::vector<double> column_means(const Targets& t, F f) {
  std::vector<double> num(size_t(t.k), 0.0);
  double den = 0;
  for (int64_t i = 0; i < t.n; ++i) {
    double wi = t.w.empty() ? 1.0 : t.w[i];
    den += wi;
    for (int64_t j = 0; j < t.k; ++j) num[j] += (t.w.empty() ? f(t.y[i * t.k + j], t.p[i * t.k + j])
                                                             : f(t.y[i * t.k + j], t.p[i * t.k + j]) * wi);
  }
  AM_CHECK(den != 0, ValueError, "Weights sum to zero, can't be normalized");
  for (double& v : num) v /= den;
  return num;
}

std::vector<double> combine(const std::vector<double>& per_output, const std::string& multioutput,
                            const Tensor& output_weights) {
  if (multioutput == "raw_values") return per_output;
  if (multioutput == "weights") return {weighted_mean(per_output, to_doubles(output_weights))};
  return {weighted_mean(per_output, {})};
}

}  // namespace

std::vector<double> mean_squared_error(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                       const std::string& multioutput, const Tensor& output_weights) {
  Targets t = read_targets("mean_squared_error", y_true, y_pred, sample_weight, multioutput, output_weights, false);
  auto errors = column_means(t, [](double y, double p) { return (y - p) * (y - p); });
  return combine(errors, multioutput, output_weights);
}

std::vector<double> mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                        const std::string& multioutput, const Tensor& output_weights) {
  Targets t = read_targets("mean_absolute_error", y_true, y_pred, sample_weight, multioutput, output_weights, false);
  auto errors = column_means(t, [](double y, double p) { return std::fabs(p - y); });
  return combine(errors, multioutput, output_weights);
}

std::vector<double> r2_score(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                             const std::string& multioutput, const Tensor& output_weights, bool force_finite) {
  Targets t = read_targets("r2_score", y_true, y_pred, sample_weight, multioutput, output_weights, true);
  if (t.n < 2) return {NAN};
  std::vector<double> mean = column_means(t, [](double y, double) { return y; });
  std::vector<double> num(size_t(t.k), 0.0), den(size_t(t.k), 0.0);
  for (int64_t i = 0; i < t.n; ++i) {
    double wi = t.w.empty() ? 1.0 : t.w[i];
    for (int64_t j = 0; j < t.k; ++j) {
      double r = t.y[i * t.k + j] - t.p[i * t.k + j], d = t.y[i * t.k + j] - mean[j];
      num[j] += wi * (r * r), den[j] += wi * (d * d);
    }
  }
  std::vector<double> scores(size_t(t.k));
  bool any_nonzero_den = false;
  for (int64_t j = 0; j < t.k; ++j) {
    any_nonzero_den |= den[j] != 0;
    if (!force_finite) scores[j] = 1 - num[j] / den[j];
    else scores[j] = num[j] == 0 ? 1.0 : den[j] == 0 ? 0.0 : 1 - num[j] / den[j];
  }
  if (multioutput == "variance_weighted") return {weighted_mean(scores, any_nonzero_den ? den : std::vector<double>())};
  return combine(scores, multioutput, output_weights);
}

}  // namespace aimass::metrics
