// where (out = cond ? a : b) and clamp (out = min(max(in, lo), hi); a NaN input stays NaN).
// All operands out's shape (broadcast views allowed), any strides. The clamp bounds are
// turned into element values on the host with the CPU kernel's rules.
#include <cmath>
#include <limits>

#include "cuda/cuda_check.h"
#include "ops/cuda/device_math.cuh"
#include "ops/cuda/elementwise.cuh"

namespace aimass::gpu {
namespace {

template <typename T>
struct WhereFunctor {
  const bool* cond;
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(const int64_t (&off)[4]) const { out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]]; }
};

// bool clamps as bool; other types in acc_t<T>.
template <typename T>
using clamp_t = std::conditional_t<std::is_same_v<T, bool>, bool, acc_t<T>>;

template <typename T>
struct ClampFunctor {
  using A = clamp_t<T>;
  const T* in;
  T* out;
  A lo, hi;
  __device__ void operator()(const int64_t (&off)[2]) const {
    A x = A(in[off[1]]);
    A y = x < lo ? lo : x;
    out[off[0]] = T(y > hi ? hi : y);
  }
};

// An integer clamp bound: the nearest representable value on the inside of the bound (ceil
// for lo, floor for hi), saturated to A's range; an infinite bound is no bound.
template <typename A>
A integer_bound(Scalar bound, bool is_lo) {
  constexpr A kMin = std::numeric_limits<A>::min(), kMax = std::numeric_limits<A>::max();
  if (bound.kind != Scalar::Kind::Float) {
    if (bound.i <= int64_t(kMin)) return kMin;
    if (std::is_unsigned_v<A> ? bound.i >= 0 && uint64_t(bound.i) >= uint64_t(kMax) : bound.i >= int64_t(kMax)) return kMax;
    return A(bound.i);
  }
  double f = is_lo ? std::ceil(bound.f) : std::floor(bound.f);
  if (f != f || f <= double(kMin)) return f != f && !is_lo ? kMax : kMin;
  if (f >= double(kMax)) return kMax;
  return A(f);
}

template <typename A>
A clamp_bound(Scalar bound, bool is_lo) {
  if constexpr (std::is_floating_point_v<A>) return bound.to<A>();
  else if constexpr (std::is_same_v<A, bool>) return is_lo ? bound.to<double>() > 0 : bound.to<double>() >= 1;
  else return integer_bound<A>(bound, is_lo);
}

}  // namespace
}  // namespace aimass::gpu

AIMASS_CUDA_EXPORT void aimass_cuda_where(const aimass::Tensor& cond, const aimass::Tensor& a,
                                          const aimass::Tensor& b, const aimass::Tensor& out) {
  using namespace aimass;
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::launch_elementwise<4>("where", {&out, &cond, &a, &b},
                               gpu::WhereFunctor<T>{cond.data<bool>(), a.data<T>(), b.data<T>(), out.data<T>()});
  });
}

AIMASS_CUDA_EXPORT void aimass_cuda_clamp(const aimass::Tensor& in, aimass::Scalar lo, aimass::Scalar hi,
                                          const aimass::Tensor& out) {
  using namespace aimass;
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = gpu::clamp_t<T>;
    gpu::launch_elementwise<2>("clamp", {&out, &in},
                               gpu::ClampFunctor<T>{in.data<T>(), out.data<T>(), gpu::clamp_bound<A>(lo, true),
                                                    gpu::clamp_bound<A>(hi, false)});
  });
}
