// Shared by the metric files: tensors in, flat float64 vectors out. Metrics read every input
// once into a contiguous CPU float64 copy (labels, scores and weights alike), so one code path
// serves every dtype and device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace aimass::metrics {

// x (any dtype, device, layout) -> its elements in row-major order as doubles.
std::vector<double> to_doubles(const Tensor& x);
// ValueError naming op unless sample_weight is undefined (all ones) or (n,).
void check_sample_weight(const Tensor& sample_weight, int64_t n, const char* op);
// The weights after check_sample_weight; n ones when sample_weight is undefined.
std::vector<double> weights_or_ones(const Tensor& sample_weight, int64_t n, const char* op);
// ValueError naming op unless every length equals the first (scikit-learn's message).
void check_consistent_length(const char* op, const std::vector<int64_t>& lengths);
// Index of each value in labels (in labels' order), -1 when absent. One sort of labels, then a
// binary search per value: O((N + L) log L).
std::vector<int64_t> encode_labels(const std::vector<double>& values, const std::vector<double>& labels);
// Indices that order s from the highest value down, ties in index order (a stable descending
// sort): an LSD radix sort on the float bits, O(N), for the curves' one sort.
std::vector<int64_t> argsort_descending(const std::vector<double>& s);
// sum(x * w) / sum(w), or the plain mean with w empty: scikit-learn's _average. NaN when empty.
double weighted_mean(const std::vector<double>& x, const std::vector<double>& w);
Tensor to_tensor(const std::vector<double>& values, const Shape& shape);  // float64 CPU

}  // namespace aimass::metrics
