#include "metrics/classification.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/parallel.h"
#include "metrics/common.h"

namespace aimass::metrics {
namespace {

// scikit-learn's _average(a, weights, normalize) for per-sample scores a.
double average_scores(const std::vector<double>& a, const Tensor& sample_weight, bool normalize) {
  if (!sample_weight.defined()) {
    double sum = std::accumulate(a.begin(), a.end(), 0.0);
    return normalize ? (a.empty() ? NAN : sum / double(a.size())) : sum;
  }
  std::vector<double> w = to_doubles(sample_weight);
  if (normalize) return weighted_mean(a, w);
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * w[i];
  return sum;
}

std::vector<int64_t> class_indices(const Tensor& y_true, int64_t n_classes, const char* op) {
  std::vector<double> y = to_doubles(y_true);
  std::vector<int64_t> codes(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    AM_CHECK(y[i] >= 0 && y[i] < double(n_classes) && y[i] == std::floor(y[i]), ValueError, op,
             ": y_true holds ", y[i], ", not a class index in [0, ", n_classes, ")");
    codes[i] = int64_t(y[i]);
  }
  return codes;
}

// _prf_divide: num / den, zero_division where den == 0.
std::vector<double> divide(const std::vector<double>& num, const std::vector<double>& den, double zero_division,
                           bool* ill_defined) {
  std::vector<double> out(num.size());
  for (size_t i = 0; i < num.size(); ++i) {
    *ill_defined |= den[i] == 0;
    out[i] = den[i] == 0 ? zero_division : num[i] / den[i];
  }
  return out;
}

// _nanaverage: NaN entries dropped; all-zero weights fall back to the plain mean.
double nan_average(const std::vector<double>& a, const std::vector<double>& w) {
  std::vector<double> kept, kept_w;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) continue;
    kept.push_back(a[i]);
    if (!w.empty()) kept_w.push_back(w[i]);
  }
  if (kept.empty()) return NAN;
  double wsum = std::accumulate(kept_w.begin(), kept_w.end(), 0.0);
  return weighted_mean(kept, wsum == 0 ? std::vector<double>() : kept_w);
}

void check_pair(const char* op, const Tensor& y_true, const Tensor& y_pred) {
  AM_CHECK(y_true.dim() == 1 && y_pred.dim() == 1, ValueError, op, ": y_true and y_pred must be 1-D, got ",
           y_true.describe(), " and ", y_pred.describe());
  check_consistent_length(op, {y_true.size(0), y_pred.size(0)});
}

}  // namespace

double accuracy_score(const Tensor& y_true, const Tensor& y_pred, bool normalize, const Tensor& sample_weight) {
  check_pair("accuracy_score", y_true, y_pred);
  check_sample_weight(sample_weight, y_true.size(0), "accuracy_score");
  std::vector<double> t = to_doubles(y_true), p = to_doubles(y_pred), hit(t.size());
  for (size_t i = 0; i < t.size(); ++i) hit[i] = t[i] == p[i];
  return average_scores(hit, sample_weight, normalize);
}

double top_k_accuracy_score(const Tensor& y_true, const Tensor& y_score, int64_t k, bool normalize,
                            const Tensor& sample_weight) {
  const char* op = "top_k_accuracy_score";
  AM_CHECK(y_score.dim() == 1 || y_score.dim() == 2, ValueError, op, ": y_score must be (N,) or (N, C), got ",
           y_score.describe());
  AM_CHECK(y_true.dim() == 1, ValueError, op, ": y_true must be 1-D, got ", y_true.describe());
  AM_CHECK(k >= 1, ValueError, op, ": k must be at least 1, got ", k);
  int64_t n = y_score.size(0), c = y_score.dim() == 2 ? y_score.size(1) : 2;
  check_consistent_length(op, {y_true.size(0), n});
  check_sample_weight(sample_weight, n, op);
  std::vector<int64_t> t = class_indices(y_true, c, op);
  std::vector<double> s = to_doubles(y_score), hit(size_t(n), 1.0);
  if (y_score.dim() == 1) {
    if (k == 1) {
      bool unit = s.empty() || (*std::min_element(s.begin(), s.end()) >= 0 && *std::max_element(s.begin(), s.end()) <= 1);
      double threshold = unit ? 0.5 : 0.0;
      for (int64_t i = 0; i < n; ++i) hit[i] = int64_t(s[i] > threshold) == t[i];
    }
    return average_scores(hit, sample_weight, normalize);
  }
  // Rank of the true class = classes ahead of it; O(C) per row, no sort.
  parallel_for(0, n, std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(c, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const double* row = s.data() + i * c;
      double st = row[t[i]];
      int64_t ahead = 0;
      for (int64_t j = 0; j < c; ++j) ahead += row[j] > st || (row[j] == st && j > t[i]);
      hit[i] = ahead < k;
    }
  });
  return average_scores(hit, sample_weight, normalize);
}

Tensor confusion_matrix(const Tensor& y_true, const Tensor& y_pred, const Tensor& labels, const Tensor& sample_weight,
                        const std::string& normalize) {
  const char* op = "confusion_matrix";
  check_pair(op, y_true, y_pred);
  AM_CHECK(labels.dim() == 1 && labels.numel() > 0, ValueError, op, ": 'labels' should contain at least one label.");
  AM_CHECK(normalize.empty() || normalize == "true" || normalize == "pred" || normalize == "all", ValueError, op,
           ": normalize must be one of 'true', 'pred', 'all' or None, got '", normalize, "'");
  std::vector<double> w = weights_or_ones(sample_weight, y_true.size(0), op), lab = to_doubles(labels);
  std::vector<int64_t> t = encode_labels(to_doubles(y_true), lab), p = encode_labels(to_doubles(y_pred), lab);
  int64_t l = int64_t(lab.size());
  std::vector<double> cm(size_t(l * l), 0.0);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] >= 0 && p[i] >= 0) cm[t[i] * l + p[i]] += w[i];
  }
  if (!normalize.empty()) {
    std::vector<double> rows(l, 0.0), cols(l, 0.0);
    double all = 0;
    for (int64_t i = 0; i < l; ++i)
      for (int64_t j = 0; j < l; ++j) rows[i] += cm[i * l + j], cols[j] += cm[i * l + j], all += cm[i * l + j];
    for (int64_t i = 0; i < l; ++i) {
      for (int64_t j = 0; j < l; ++j) {
        double den = normalize == "true" ? rows[i] : normalize == "pred" ? cols[j] : all;
        double& v = cm[i * l + j];
        v = den == 0 ? 0.0 : v / den;  // NumPy's nan_to_num of 0/0
      }
    }
  }
  return to_tensor(cm, {l, l});
}

PrecisionRecallFscore precision_recall_fscore_support(const Tensor& y_true, const Tensor& y_pred, const Tensor& labels,
                                                      const Tensor& sample_weight, double beta,
                                                      const std::string& average, double zero_division) {
  const char* op = "precision_recall_fscore_support";
  check_pair(op, y_true, y_pred);
  AM_CHECK(average == "none" || average == "binary" || average == "micro" || average == "macro" ||
               average == "weighted",
           ValueError, op, ": average has to be one of (None, 'micro', 'macro', 'weighted', 'binary'), got '", average,
           "'");
  AM_CHECK(beta >= 0, ValueError, op, ": beta must be non-negative, got ", beta);
  std::vector<double> w = weights_or_ones(sample_weight, y_true.size(0), op), lab = to_doubles(labels);
  std::vector<int64_t> t = encode_labels(to_doubles(y_true), lab), p = encode_labels(to_doubles(y_pred), lab);
  size_t l = lab.size();
  std::vector<double> tp(l, 0.0), pred(l, 0.0), truth(l, 0.0);
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] >= 0) truth[t[i]] += w[i];
    if (p[i] >= 0) pred[p[i]] += w[i];
    if (t[i] >= 0 && t[i] == p[i]) tp[t[i]] += w[i];
  }
  PrecisionRecallFscore out;
  std::vector<double> support = truth;
  if (average == "micro") {
    auto total = [](const std::vector<double>& v) { return std::vector<double>{std::accumulate(v.begin(), v.end(), 0.0)}; };
    tp = total(tp), pred = total(pred), truth = total(truth);
  }
  out.precision = divide(tp, pred, zero_division, &out.precision_ill_defined);
  out.recall = divide(tp, truth, zero_division, &out.recall_ill_defined);
  if (std::isinf(beta)) {
    out.fscore = out.recall;
  } else if (beta == 0) {
    out.fscore = out.precision;
  } else {
    // (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp), scikit-learn's form (no precision-recall product).
    double b2 = beta * beta;
    std::vector<double> num(tp.size()), den(tp.size());
    for (size_t i = 0; i < tp.size(); ++i) num[i] = (1 + b2) * tp[i], den[i] = b2 * truth[i] + pred[i];
    out.fscore = divide(num, den, zero_division, &out.fscore_ill_defined);
  }
  if (average == "none") {
    out.support = support;
    return out;
  }
  std::vector<double> weights = average == "weighted" ? support : std::vector<double>();
  out.precision = {nan_average(out.precision, weights)};
  out.recall = {nan_average(out.recall, weights)};
  out.fscore = {nan_average(out.fscore, weights)};
  return out;
}

double log_loss(const Tensor& y_true, const Tensor& y_proba, double eps, bool normalize, const Tensor& sample_weight) {
  const char* op = "log_loss";
  AM_CHECK(y_proba.dim() == 1 || y_proba.dim() == 2, ValueError, op, ": y_proba must be (N,) or (N, C), got ",
           y_proba.describe());
  AM_CHECK(y_true.dim() == 1, ValueError, op, ": y_true must be 1-D, got ", y_true.describe());
  int64_t n = y_proba.size(0), c = y_proba.dim() == 2 ? y_proba.size(1) : 2;
  check_consistent_length(op, {n, y_true.size(0)});
  check_sample_weight(sample_weight, n, op);
  std::vector<int64_t> t = class_indices(y_true, c, op);
  std::vector<double> p = to_doubles(y_proba), loss(static_cast<size_t>(n));
  for (double v : p) {
    AM_CHECK(!(v > 1), ValueError, op, ": y_prob contains values greater than 1: ", v);
    AM_CHECK(!(v < 0), ValueError, op, ": y_prob contains values lower than 0: ", v);
  }
  for (int64_t i = 0; i < n; ++i) {
    double pt = y_proba.dim() == 1 ? (t[i] == 1 ? p[i] : 1 - p[i]) : p[i * c + t[i]];
    loss[i] = -std::log(std::clamp(pt, eps, 1 - eps));
  }
  return average_scores(loss, sample_weight, normalize);
}

}  // namespace aimass::metrics
