#include "metrics/common.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

#include "ops/convert.h"

namespace aimass::metrics {

std::vector<double> to_doubles(const Tensor& x) {
  Tensor cpu = contiguous(to_dtype(to_device(x, Device()), DType::Float64));
  const double* p = cpu.data<double>();
  return std::vector<double>(p, p + cpu.numel());
}

void check_sample_weight(const Tensor& sample_weight, int64_t n, const char* op) {
  if (!sample_weight.defined()) return;
  AM_CHECK(sample_weight.dim() == 1, ValueError, op, ": sample_weight must be 1-D, got ", sample_weight.describe());
  check_consistent_length(op, {n, sample_weight.size(0)});
}

std::vector<double> weights_or_ones(const Tensor& sample_weight, int64_t n, const char* op) {
  check_sample_weight(sample_weight, n, op);
  return sample_weight.defined() ? to_doubles(sample_weight) : std::vector<double>(size_t(n), 1.0);
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

std::vector<int64_t> argsort_descending(const std::vector<double>& s) {
  size_t n = s.size();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (n < 4096) {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
    return order;
  }
  // Keys that sort ascending as the doubles sort descending: flip the sign bit of positives,
  // every bit of negatives, then complement. 0.0 and -0.0 get neighbouring keys, which is fine:
  // callers group ties by comparing the doubles themselves.
  std::vector<uint64_t> key(n), key_tmp(n);
  std::vector<int64_t> order_tmp(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t bits;
    std::memcpy(&bits, &s[i], 8);
    bits = (bits >> 63) ? ~bits : bits | (uint64_t(1) << 63);
    key[i] = ~bits;
  }
  constexpr int kBits = 16;
  std::vector<size_t> count(size_t(1) << kBits);
  for (int shift = 0; shift < 64; shift += kBits) {
    std::fill(count.begin(), count.end(), 0);
    for (size_t i = 0; i < n; ++i) ++count[(key[i] >> shift) & 0xffff];
    if (count[(key[0] >> shift) & 0xffff] == n) continue;  // one digit value: the pass changes nothing
    size_t sum = 0;
    for (size_t& c : count) sum += std::exchange(c, sum);
    for (size_t i = 0; i < n; ++i) {
      size_t dst = count[(key[i] >> shift) & 0xffff]++;
      key_tmp[dst] = key[i], order_tmp[dst] = order[i];
    }
    key.swap(key_tmp), order.swap(order_tmp);
  }
  return order;
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
