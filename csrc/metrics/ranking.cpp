#include "metrics/ranking.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/parallel.h"
#include "metrics/common.h"

namespace aimass::metrics {
namespace {

// Cumulative true and false positives at each distinct score, highest score first
// (scikit-learn's confusion_matrix_at_thresholds).
struct ThresholdCounts { std::vector<double> fps, tps, thresholds; };

ThresholdCounts counts_at_thresholds(const std::vector<double>& y_in, const std::vector<double>& s_in,
                                     const std::vector<double>& w_in) {
  std::vector<double> y, s, w;
  bool weighted = !w_in.empty();
  for (size_t i = 0; i < y_in.size(); ++i) {
    if (weighted && w_in[i] == 0) continue;
    y.push_back(y_in[i]), s.push_back(s_in[i]);
    if (weighted) w.push_back(w_in[i]);
  }
  std::vector<int64_t> order = argsort_descending(s);
  ThresholdCounts out;
  double tp = 0, fp = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    int64_t i = order[r];
    double wi = weighted ? w[i] : 1.0;
    tp += y[i] * wi;
    if (weighted) fp += (1 - y[i]) * wi;
    if (r + 1 == order.size() || s[order[r + 1]] != s[i]) {
      out.tps.push_back(tp);
      out.fps.push_back(weighted ? fp : 1 + double(r) - tp);
      out.thresholds.push_back(s[i]);
    }
  }
  return out;
}

void check_binary_inputs(const char* op, const Tensor& y_true, const Tensor& y_score, const Tensor& w) {
  AM_CHECK(y_true.dim() == 1 && y_score.dim() == 1, ValueError, op, ": y_true and y_score must be 1-D, got ",
           y_true.describe(), " and ", y_score.describe());
  check_consistent_length(op, {y_true.size(0), y_score.size(0)});
  check_sample_weight(w, y_true.size(0), op);
}

void check_finite(const char* op, const std::vector<double>& s) {
  for (double v : s) AM_CHECK(std::isfinite(v), ValueError, op, ": Input contains NaN or infinity.");
}

RocCurve roc_from_vectors(const std::vector<double>& y, const std::vector<double>& s, const std::vector<double>& w,
                          bool drop_intermediate) {
  ThresholdCounts c = counts_at_thresholds(y, s, w);
  size_t n = c.fps.size();
  std::vector<size_t> keep;
  for (size_t i = 0; i < n; ++i) {
    // Drop points on a straight segment: a zero second difference of both fps and tps.
    bool corner = !drop_intermediate || n <= 2 || i == 0 || i + 1 == n ||
                  (c.fps[i + 1] - c.fps[i]) - (c.fps[i] - c.fps[i - 1]) != 0 ||
                  (c.tps[i + 1] - c.tps[i]) - (c.tps[i] - c.tps[i - 1]) != 0;
    if (corner) keep.push_back(i);
  }
  RocCurve out;
  out.fpr.push_back(0), out.tpr.push_back(0), out.thresholds.push_back(std::numeric_limits<double>::infinity());
  for (size_t i : keep) out.fpr.push_back(c.fps[i]), out.tpr.push_back(c.tps[i]), out.thresholds.push_back(c.thresholds[i]);
  double fmax = out.fpr.back(), tmax = out.tpr.back();
  for (double& v : out.fpr) v = fmax <= 0 ? NAN : v / fmax;
  for (double& v : out.tpr) v = tmax <= 0 ? NAN : v / tmax;
  return out;
}

PrecisionRecallCurve pr_from_vectors(const std::vector<double>& y, const std::vector<double>& s,
                                     const std::vector<double>& w, bool drop_intermediate) {
  ThresholdCounts c = counts_at_thresholds(y, s, w);
  size_t n = c.tps.size();
  PrecisionRecallCurve out;
  double tmax = n ? c.tps.back() : 0;
  for (size_t r = n; r-- > 0;) {  // lowest threshold first
    bool keep = !drop_intermediate || n <= 2 || r == 0 || r + 1 == n || c.tps[r] != c.tps[r - 1] ||
                c.tps[r + 1] != c.tps[r];
    if (!keep) continue;
    double ps = c.tps[r] + c.fps[r];
    out.precision.push_back(ps != 0 ? c.tps[r] / ps : 0.0);
    out.recall.push_back(tmax == 0 ? 1.0 : c.tps[r] / tmax);
    out.thresholds.push_back(c.thresholds[r]);
  }
  out.precision.push_back(1.0), out.recall.push_back(0.0);
  return out;
}

double trapezoid_area(const std::vector<double>& x, const std::vector<double>& y) {
  double area = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) area += (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0;
  return area;
}

double roc_auc_vectors(const std::vector<double>& y, const std::vector<double>& s, const std::vector<double>& w) {
  bool has_pos = false, has_neg = false;
  for (double v : y) (v == 1 ? has_pos : has_neg) = true;
  if (!(has_pos && has_neg)) return NAN;
  RocCurve roc = roc_from_vectors(y, s, w, true);
  return trapezoid_area(roc.fpr, roc.tpr);
}

double average_precision_vectors(const std::vector<double>& y, const std::vector<double>& s,
                                 const std::vector<double>& w) {
  PrecisionRecallCurve pr = pr_from_vectors(y, s, w, false);
  double sum = 0;
  for (size_t i = 0; i + 1 < pr.recall.size(); ++i) sum += (pr.recall[i + 1] - pr.recall[i]) * pr.precision[i];
  return std::max(0.0, -sum);
}

std::vector<double> optional_weights(const Tensor& w) { return w.defined() ? to_doubles(w) : std::vector<double>(); }

}  // namespace

RocCurve roc_curve(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight, bool drop_intermediate) {
  check_binary_inputs("roc_curve", y_true, y_score, sample_weight);
  std::vector<double> s = to_doubles(y_score);
  check_finite("roc_curve", s);
  return roc_from_vectors(to_doubles(y_true), s, optional_weights(sample_weight), drop_intermediate);
}

PrecisionRecallCurve precision_recall_curve(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight,
                                            bool drop_intermediate) {
  check_binary_inputs("precision_recall_curve", y_true, y_score, sample_weight);
  std::vector<double> s = to_doubles(y_score);
  check_finite("precision_recall_curve", s);
  return pr_from_vectors(to_doubles(y_true), s, optional_weights(sample_weight), drop_intermediate);
}

double roc_auc_binary(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight) {
  check_binary_inputs("roc_auc_score", y_true, y_score, sample_weight);
  std::vector<double> s = to_doubles(y_score);
  check_finite("roc_auc_score", s);
  return roc_auc_vectors(to_doubles(y_true), s, optional_weights(sample_weight));
}

double average_precision_binary(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight) {
  check_binary_inputs("average_precision_score", y_true, y_score, sample_weight);
  std::vector<double> s = to_doubles(y_score);
  check_finite("average_precision_score", s);
  return average_precision_vectors(to_doubles(y_true), s, optional_weights(sample_weight));
}

std::vector<double> one_vs_rest_score(const std::string& metric, const Tensor& y_true, const Tensor& y_score,
                                      const Tensor& sample_weight, const std::string& average) {
  const char* op = metric == "roc_auc" ? "roc_auc_score" : "average_precision_score";
  AM_CHECK(metric == "roc_auc" || metric == "average_precision", ValueError,
           "one_vs_rest_score: metric must be 'roc_auc' or 'average_precision', got '", metric, "'");
  AM_CHECK(average == "none" || average == "macro" || average == "weighted" || average == "micro", ValueError, op,
           ": average must be one of ('micro', 'macro', 'weighted', None), got '", average, "'");
  AM_CHECK(y_true.dim() == 1 && y_score.dim() == 2, ValueError, op,
           ": one-vs-rest needs y_true (N,) and y_score (N, C), got ", y_true.describe(), " and ", y_score.describe());
  int64_t n = y_score.size(0), c = y_score.size(1);
  check_consistent_length(op, {y_true.size(0), n});
  std::vector<double> w = optional_weights(sample_weight), s = to_doubles(y_score), codes = to_doubles(y_true);
  if (!w.empty()) check_consistent_length(op, {n, int64_t(w.size())});
  check_finite(op, s);
  auto binary = [&](const std::vector<double>& y, const std::vector<double>& sc, const std::vector<double>& wt) {
    return metric == "roc_auc" ? roc_auc_vectors(y, sc, wt) : average_precision_vectors(y, sc, wt);
  };
  if (average == "micro") {
    std::vector<double> y(size_t(n * c), 0.0), wt;
    for (int64_t i = 0; i < n; ++i) {
      AM_CHECK(codes[i] >= 0 && codes[i] < double(c), ValueError, op, ": y_true holds ", codes[i],
               ", not a class index in [0, ", c, ")");
      y[i * c + int64_t(codes[i])] = 1;
      if (!w.empty()) wt.insert(wt.end(), size_t(c), w[i]);
    }
    return {binary(y, s, wt)};
  }
  std::vector<double> scores(static_cast<size_t>(c)), class_weight(static_cast<size_t>(c), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    AM_CHECK(codes[i] >= 0 && codes[i] < double(c), ValueError, op, ": y_true holds ", codes[i],
             ", not a class index in [0, ", c, ")");
    class_weight[int64_t(codes[i])] += w.empty() ? 1.0 : w[i];
  }
  parallel_for(0, c, std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(n, 1)), [&](int64_t lo, int64_t hi) {
    std::vector<double> y(static_cast<size_t>(n)), col(static_cast<size_t>(n));
    for (int64_t k = lo; k < hi; ++k) {
      for (int64_t i = 0; i < n; ++i) y[i] = codes[i] == double(k), col[i] = s[i * c + k];
      scores[k] = binary(y, col, w);
    }
  });
  if (average == "none") return scores;
  if (average == "macro") return {weighted_mean(scores, {})};
  double total = std::accumulate(class_weight.begin(), class_weight.end(), 0.0);
  if (std::fabs(total) <= 1e-8) return {0.0};  // np.isclose(sum, 0)
  for (int64_t k = 0; k < c; ++k) if (class_weight[k] == 0) scores[k] = 0;
  return {weighted_mean(scores, class_weight)};
}

double one_vs_one_roc_auc(const Tensor& y_true, const Tensor& y_score, const std::string& average) {
  const char* op = "roc_auc_score";
  AM_CHECK(average == "macro" || average == "weighted", ValueError, op,
           ": average must be 'macro' or 'weighted' for multi_class='ovo', got '", average, "'");
  AM_CHECK(y_true.dim() == 1 && y_score.dim() == 2, ValueError, op,
           ": one-vs-one needs y_true (N,) and y_score (N, C), got ", y_true.describe(), " and ", y_score.describe());
  int64_t n = y_score.size(0), c = y_score.size(1);
  check_consistent_length(op, {y_true.size(0), n});
  std::vector<double> s = to_doubles(y_score), codes = to_doubles(y_true);
  check_finite(op, s);
  std::vector<bool> present(size_t(c), false);
  for (double v : codes) {
    AM_CHECK(v >= 0 && v < double(c), ValueError, op, ": y_true holds ", v, ", not a class index in [0, ", c, ")");
    present[size_t(v)] = true;
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (int64_t a = 0; a < c; ++a)
    for (int64_t b = a + 1; b < c; ++b)
      if (present[a] && present[b]) pairs.emplace_back(a, b);
  std::vector<double> pair_score(pairs.size()), prevalence(pairs.size());
  parallel_for(0, int64_t(pairs.size()), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) {
      auto [a, b] = pairs[k];
      std::vector<double> a_true, b_true, a_score, b_score;
      for (int64_t i = 0; i < n; ++i) {
        if (codes[i] != double(a) && codes[i] != double(b)) continue;
        a_true.push_back(codes[i] == double(a)), b_true.push_back(codes[i] == double(b));
        a_score.push_back(s[i * c + a]), b_score.push_back(s[i * c + b]);
      }
      pair_score[k] = (roc_auc_vectors(a_true, a_score, {}) + roc_auc_vectors(b_true, b_score, {})) / 2;
      prevalence[k] = double(a_true.size()) / double(n);
    }
  });
  return weighted_mean(pair_score, average == "weighted" ? prevalence : std::vector<double>());
}

}  // namespace aimass::metrics
