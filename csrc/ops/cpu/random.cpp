// Fills contiguous out from the Philox stream (core/philox.h): element i is a pure function of
// (seed, offset + i), so the result is the same whatever the number of threads or how the
// range is split. Uniform in [a, b); Normal with mean a and std b; Integer in [a, b).
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "core/philox.h"
#include "ops/cpu/scalar_ops.h"

namespace aimass::cpu {

namespace {

// Philox costs ~10x a memory-bound element, so threads pay off on smaller ranges.
constexpr int64_t kRandomGrain = 4096;

// The largest value of T below `limit` (the rounding of a + (b - a) u to T may reach b).
template <typename T>
T largest_below(double limit) {
  if constexpr (std::is_same_v<T, double>) {
    return std::nextafter(limit, -std::numeric_limits<double>::infinity());
  } else if constexpr (std::is_same_v<T, float>) {
    float v = float(limit);
    return double(v) < limit ? v : std::nextafter(v, -std::numeric_limits<float>::infinity());
  } else {  // Half / BFloat16: step the bits down one ulp at a time
    T v = T(float(limit));
    while (double(float(v)) >= limit) {
      float f = float(v);
      if (f > 0) v.bits = uint16_t(v.bits - 1);
      else if (f == 0) v.bits = 0x8001;
      else v.bits = uint16_t(v.bits + 1);
    }
    return v;
  }
}

template <typename T>
void fill_random(RandomKind kind, T* out, int64_t n, double a, double b, uint64_t seed, uint64_t offset) {
  auto run = [&](auto draw) {
    parallel_for(0, n, kRandomGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) out[i] = draw(offset + uint64_t(i));
    });
  };
  switch (kind) {
    case RandomKind::Uniform: {
      if constexpr (std::is_floating_point_v<acc_t<T>>) {
        const T top = largest_below<T>(b);
        run([&](uint64_t c) {
          double v = a + (b - a) * philox_uniform(seed, c);
          T t = T(acc_t<T>(v));
          return double(acc_t<T>(t)) >= b ? top : t;
        });
      } else {
        run([&](uint64_t c) { return convert<T>(a + (b - a) * philox_uniform(seed, c)); });
      }
      break;
    }
    case RandomKind::Normal:
      run([&](uint64_t c) { return convert<T>(a + b * philox_normal(seed, c)); });
      break;
    case RandomKind::Integer: {
      const int64_t low = int64_t(a);
      const uint64_t range = uint64_t(int64_t(b)) - uint64_t(low);
      run([&](uint64_t c) { return convert<T>(philox_integer(seed, c, low, range)); });
      break;
    }
  }
}

}  // namespace

void random(RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  if (n == 0) return;
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_random(kind, out.data<T>(), n, a, b, seed, offset);
  });
}

}  // namespace aimass::cpu
