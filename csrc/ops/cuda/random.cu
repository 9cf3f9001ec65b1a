// Fills contiguous out from the Philox stream (core/philox.h): element i from counter offset + i,
// the same function of (seed, counter) as the CPU kernel, so both devices draw the same
// numbers. Uniform in [a, b) (a float rounding up to b is replaced by the largest value below
// b, as on the CPU); Normal with mean a and std b; Integer in [a, b).
#include <cmath>
#include <limits>

#include "core/philox.h"
#include "cuda/cuda_check.h"
#include "ops/cuda/device_math.cuh"
#include "ops/cuda/elementwise.cuh"

namespace aimass::gpu {
namespace {

// The largest value of T below `limit` (host side; the CPU kernel's rule).
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
struct RandomParams {
  RandomKind kind;
  double a, b;
  uint64_t seed, offset;
  int64_t low;     // Integer
  uint64_t range;  // Integer
  T top;           // Uniform on floating T: the largest value below b
};

template <typename T>
__global__ void random_kernel(T* out, int64_t n, RandomParams<T> p) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t c = p.offset + uint64_t(i);
    if (p.kind == RandomKind::Uniform) {
      const double v = p.a + (p.b - p.a) * philox_uniform(p.seed, c);
      if constexpr (kFloatArith<acc_t<T>>) {
        T t = T(acc_t<T>(v));
        out[i] = double(acc_t<T>(t)) >= p.b ? p.top : t;
      } else {
        out[i] = convert<T>(v);
      }
    } else if (p.kind == RandomKind::Normal) {
      out[i] = convert<T>(p.a + p.b * philox_normal(p.seed, c));
    } else {
      out[i] = convert<T>(philox_integer(p.seed, c, p.low, p.range));
    }
  }
}

}  // namespace
}  // namespace aimass::gpu

AIMASS_CUDA_EXPORT void aimass_cuda_random(aimass::RandomKind kind, const aimass::Tensor& out, double a, double b,
                                           uint64_t seed, uint64_t offset) {
  using namespace aimass;
  const int64_t n = out.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(out.device().index, "random");
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::RandomParams<T> p{kind, a, b, seed, offset, 0, 0, T{}};
    if (kind == RandomKind::Integer) {
      p.low = int64_t(a);
      p.range = uint64_t(int64_t(b)) - uint64_t(p.low);
    }
    if constexpr (gpu::kFloatArith<acc_t<T>>) {
      if (kind == RandomKind::Uniform) p.top = gpu::largest_below<T>(b);
    }
    gpu::random_kernel<T><<<gpu::grid_for(n), gpu::kBlockSize>>>(out.data<T>(), n, p);
    gpu::check_launch("random");
  });
}
