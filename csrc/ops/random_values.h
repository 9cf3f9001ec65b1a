// The value of element i of a random tensor of element type T: a Philox draw (core/philox.h)
// mapped to T exactly as the CPU and CUDA random kernels both need it.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/philox.h"
#include "ops/kernels/random.h"  // RandomKind
#include "ops/scalar_ops.h"       // convert (a draw rounded to the element type)

namespace aimass {

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

// A random tensor of element type T: Uniform in [a, b); Normal with mean a and std b;
// Integer in [a, b), drawn as low + [0, range).
template <typename T>
struct RandomParams {
  RandomKind kind;
  double a, b;
  uint64_t seed;
  int64_t low = 0;     // Integer
  uint64_t range = 0;  // Integer
  T top{};             // Uniform on a floating T: the largest value below b
};

template <typename T>
RandomParams<T> random_params(RandomKind kind, double a, double b, uint64_t seed) {
  RandomParams<T> p{kind, a, b, seed};
  if (kind == RandomKind::Integer) {
    p.low = int64_t(a);
    p.range = uint64_t(int64_t(b)) - uint64_t(p.low);
  }
  if constexpr (std::is_floating_point_v<acc_t<T>>) {
    if (kind == RandomKind::Uniform) p.top = largest_below<T>(b);
  }
  return p;
}

// The element of counter c: the draw rounded to T (a float draw that rounds up to b is
// replaced by p.top, so Uniform never reaches b).
template <typename T>
AM_HOST_DEVICE inline T philox_value(const RandomParams<T>& p, uint64_t c) {
  if (p.kind == RandomKind::Uniform) {
    const double v = p.a + (p.b - p.a) * philox_uniform(p.seed, c);
    if constexpr (std::is_floating_point_v<acc_t<T>>) {
      const T t = T(acc_t<T>(v));
      return double(acc_t<T>(t)) >= p.b ? p.top : t;
    } else {
      return scalar_ops::convert<T>(v);
    }
  }
  if (p.kind == RandomKind::Normal) return scalar_ops::convert<T>(p.a + p.b * philox_normal(p.seed, c));
  return scalar_ops::convert<T>(philox_integer(p.seed, c, p.low, p.range));
}

// Inverted dropout of Philox counter c's group of four elements, [4c, min(4c + 4, n)): element
// 4c + k is kept when lane k's uniform draw is >= p, and scaled by `scale` (0 when p == 1). The
// same rule on CPU and CUDA, so one seed drops the same elements on either.
template <typename T, typename A>
AM_HOST_DEVICE inline void dropout_group(const T* in, T* out, int64_t n, int64_t c, double p, A scale,
                                         uint64_t seed, uint64_t offset) {
  const Philox4 r = philox4x32(offset + uint64_t(c), seed);
  const int64_t base = 4 * c, count = n - base < 4 ? n - base : 4;
  for (int64_t k = 0; k < count; ++k) {
    const bool keep = double(uniform_from_bits(r.v[k])) >= p;
    out[base + k] = keep ? T(A(in[base + k]) * scale) : T(A(0));
  }
}

}  // namespace aimass
