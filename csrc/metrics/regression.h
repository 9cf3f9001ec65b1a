// Regression metrics with scikit-learn's definitions and results.
//
// y_true, y_pred: (N,) or (N, K), the same shape; sample_weight: (N,) or undefined. Each
// metric is computed per output column, then combined by multioutput: "raw_values" (the K
// values), "uniform_average" (their mean), "weights" (their average weighted by
// output_weights, (K,)) or, for r2_score only, "variance_weighted" (weighted by the variance of
// each column of y_true).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace aimass::metrics {

std::vector<double> mean_squared_error(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                       const std::string& multioutput, const Tensor& output_weights);
std::vector<double> mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                        const std::string& multioutput, const Tensor& output_weights);
// 1 - sum(w (y - p)^2) / sum(w (y - mean_w(y))^2) per column. force_finite: a constant column
// scores 1 when predicted exactly, 0 otherwise (instead of NaN / -inf). NaN with fewer than
// two samples.
std::vector<double> r2_score(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                             const std::string& multioutput, const Tensor& output_weights, bool force_finite);

}  // namespace aimass::metrics
