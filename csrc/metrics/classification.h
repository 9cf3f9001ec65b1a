// Label metrics with scikit-learn's definitions and results: accuracy, top-k accuracy, the
// confusion matrix, precision / recall / F-beta, log loss.
//
// Labels are numbers here: y_true and y_pred are (N,) tensors of any dtype whose values are
// class labels (aimass.metrics maps string labels to codes before calling). sample_weight is
// (N,) or an undefined Tensor for all ones. Checks name the function and the lengths.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace aimass::metrics {

// Fraction (normalize) or weighted count of samples with y_true == y_pred.
double accuracy_score(const Tensor& y_true, const Tensor& y_pred, bool normalize, const Tensor& sample_weight);

// y_true: (N,) class indices in [0, C); y_score: (N, C) scores, or (N,) scores of class 1 when
// C = 2. A sample is a hit when its true class is among the k highest scores, ties going to
// the higher class index (scikit-learn's stable argsort, reversed). For (N,) scores and k = 1
// the prediction is score > 0.5 for scores within [0, 1], score > 0 otherwise.
double top_k_accuracy_score(const Tensor& y_true, const Tensor& y_score, int64_t k, bool normalize,
                            const Tensor& sample_weight);

// -> (L, L) float64, row = true label, column = predicted label, both in labels' order;
// samples with a label outside labels are left out. normalize: "" (counts), "true" (rows sum
// to 1), "pred" (columns) or "all"; 0/0 gives 0.
Tensor confusion_matrix(const Tensor& y_true, const Tensor& y_pred, const Tensor& labels, const Tensor& sample_weight,
                        const std::string& normalize);

struct PrecisionRecallFscore {
  std::vector<double> precision, recall, fscore;  // (L,) for average "none", else one value
  std::vector<double> support;                    // weighted count of each label in y_true; empty when averaged
  // A denominator was 0 somewhere (the value there is zero_division): scikit-learn warns then.
  bool precision_ill_defined = false, recall_ill_defined = false, fscore_ill_defined = false;
};
// Per label of labels (in order): tp, predicted and true weighted counts over every sample;
// then precision = tp / predicted, recall = tp / true, F-beta, each zero_division (0, 1 or NaN)
// where the denominator is 0. beta = inf gives recall, beta = 0 precision. average: "none",
// "micro" (pooled counts), "macro", "weighted" (by support), "binary" (labels holds pos_label
// alone). Averages skip NaN entries, like scikit-learn's _nanaverage.
PrecisionRecallFscore precision_recall_fscore_support(const Tensor& y_true, const Tensor& y_pred, const Tensor& labels,
                                                      const Tensor& sample_weight, double beta,
                                                      const std::string& average, double zero_division);

// y_true: (N,) class indices in [0, C); y_proba: (N, C) probabilities, or (N,) the probability
// of class 1. Mean (normalize) or weighted sum of -log(clip(p_true, eps, 1 - eps)).
double log_loss(const Tensor& y_true, const Tensor& y_proba, double eps, bool normalize, const Tensor& sample_weight);

}  // namespace aimass::metrics
