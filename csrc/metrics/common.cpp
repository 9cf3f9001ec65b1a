#include "metrics/common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "ops/convert.h"

namespace aimass::metrics {

std::vector<double> to_doubles(const Tensor& x) {
  Tensor cpu = contiguous(to_dtype(to_device(x, Device()), DType::Float64));
  const double* p = cpu.data<double>();
  return std::vector<double>(p, p + cpu.numel());
}

std::vector<double> weights_or_ones(const Tensor& sample_weight, int64_t n, const char* op) {
  if (!sample_weight.defined()) return std::vector<double>(size_t(n), 1.0);
  AM_CHECK(sample_weight.dim() == 1, ValueError, op, ": sample_weight must be 1-D, got ", sample_weight.describe());
  check_consistent_length(op, {n, sample_weight.size(0)});
  return to_doubles(sample_weight);
}

void check_consistent_length(const char* op, const std::vector<int64_t>& lengths) {
  for (int64_t n : lengths) {
    AM_CHECK(n == lengths[0], ValueError, op, ": Found input variables with inconsistent numbers of samples: ",
             lengths);
  }
}

std::vector<int64_t> encode_labels(const std::vector<double>& values, const std::vector<double>& labels) {
  std::vector<int64_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  std::vector<double> sorted(labels.size());
  for (size_t i = 0; i < order.size(); ++i) sorted[i] = labels[order[i]];
  std::vector<int64_t> codes(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), values[i]);
    codes[i] = (it != sorted.end() && *it == values[i]) ? order[it - sorted.begin()] : -1;
  }
  return codes;
}

double weighted_mean(const std::vector<double>& x, const std::vector<double>& w) {
  if (x.empty()) return NAN;
  if (w.empty()) return std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) num += x[i] * w[i], den += w[i];
  AM_CHECK(den != 0, ValueError, "Weights sum to zero, can't be normalized");
  return num / den;
}

Tensor to_tensor(const std::vector<double>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Float64);
  if (!values.empty()) std::memcpy(t.data_ptr(), values.data(), values.size() * sizeof(double));
  return t;
}

}  // namespace aimass::metrics
