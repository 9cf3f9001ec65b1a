// Inverted dropout (contract in ops/kernels/random.h): element i keeps its value, scaled by 1 / (1 - p),
// when word i % 4 of Philox counter offset + i / 4 maps to a uniform >= p. The mask is a pure
// function of (seed, offset, i), so any split of the range gives the same result, the CUDA
// kernel draws the same mask, and the backward regenerates it instead of storing it.
#include "core/parallel.h"
#include "ops/random_values.h"
#include "ops/kernels/random.h"

namespace aimass::cpu {

namespace {

// Philox costs ~10x a memory-bound element, so threads pay off on smaller ranges.
constexpr int64_t kCounterGrain = 1024;

template <typename T>
void dropout_impl(const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t offset) {
  using A = acc_t<T>;
  const A scale = p < 1 ? A(1.0 / (1.0 - p)) : A(0);
  const int64_t counters = (n + 3) / 4;
  parallel_for(0, counters, kCounterGrain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) dropout_group(in, out, n, c, p, scale, seed, offset);
  });
}

}  // namespace

void dropout(const Tensor& in, const Tensor& out, double p, uint64_t seed, uint64_t offset) {
  const int64_t n = in.numel();
  if (n == 0) return;
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_floating_point_v<acc_t<T>>) dropout_impl(in.data<T>(), out.data<T>(), n, p, seed, offset);
  });
}

}  // namespace aimass::cpu
