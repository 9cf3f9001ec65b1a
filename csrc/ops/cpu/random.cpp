// Fills contiguous out from the Philox stream (core/philox.h): element i is a pure function of
// (seed, offset + i), so the result is the same whatever the number of threads or how the
// range is split. The value rule, philox_value, is shared with the CUDA kernel.
#include "core/parallel.h"
#include "ops/random_values.h"

namespace aimass::cpu {

namespace {

// Philox costs ~10x a memory-bound element, so threads pay off on smaller ranges.
constexpr int64_t kRandomGrain = 4096;

template <typename T>
void fill_random(const RandomParams<T>& p, T* out, int64_t n, uint64_t offset) {
  parallel_for(0, n, kRandomGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = philox_value(p, offset + uint64_t(i));
  });
}

}  // namespace

void random(RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  if (n == 0) return;
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_random(random_params<T>(kind, a, b, seed), out.data<T>(), n, offset);
  });
}

}  // namespace aimass::cpu
