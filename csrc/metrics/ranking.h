// Threshold metrics with scikit-learn's definitions and results: ROC and precision-recall
// curves, ROC AUC and average precision (binary, and one-vs-rest over the columns of (N, C)
// scores). Every curve costs one stable sort of the scores.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace aimass::metrics {

// y_true: (N,) 1 for the positive class, 0 otherwise; y_score: (N,); sample_weight: (N,) or
// undefined. Samples of weight 0 are dropped first.
struct RocCurve { std::vector<double> fpr, tpr, thresholds; };      // thresholds[0] = +inf
struct PrecisionRecallCurve { std::vector<double> precision, recall, thresholds; };
RocCurve roc_curve(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight, bool drop_intermediate);
PrecisionRecallCurve precision_recall_curve(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight,
                                            bool drop_intermediate);
// Trapezoidal area under the ROC curve; NaN when y_true holds one class only.
double roc_auc_binary(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight);
// -sum((R[i+1] - R[i]) P[i]) over the precision-recall curve (no interpolation), at least 0.
double average_precision_binary(const Tensor& y_true, const Tensor& y_score, const Tensor& sample_weight);

// One-vs-rest: y_true (N,) class indices in [0, C), y_score (N, C); metric "roc_auc" or
// "average_precision" per column, threaded over columns. average: "none" (C values), "macro",
// "weighted" (by each class's weighted count; 0 when they sum to 0) or "micro" (one binary
// problem over the N * C flattened entries).
std::vector<double> one_vs_rest_score(const std::string& metric, const Tensor& y_true, const Tensor& y_score,
                                      const Tensor& sample_weight, const std::string& average);

// One-vs-one ROC AUC (Hand & Till): for each pair (a, b) of classes present in y_true, the mean
// of the AUC of a against b (on column a) and of b against a (on column b), over the samples of
// either class; averaged over pairs, "macro" equally, "weighted" by the pair's share of samples.
double one_vs_one_roc_auc(const Tensor& y_true, const Tensor& y_score, const std::string& average);

}  // namespace aimass::metrics
