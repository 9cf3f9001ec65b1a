// where (out = cond ? a : b) and clamp (out = min(max(in, lo), hi); a NaN input stays NaN).
// All operands out's shape (broadcast views allowed), any strides. The clamp bounds'
// conversion and the element rule are the CPU kernel's (ops/scalar_ops.h).
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/elementwise.h"

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

template <typename T>
struct ClampFunctor {
  const T* in;
  T* out;
  clamp_t<T> lo, hi;
  __device__ void operator()(const int64_t (&off)[2]) const { out[off[0]] = clamp_scalar(in[off[1]], lo, hi); }
};

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(where)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::launch_elementwise<4>("where", {&out, &cond, &a, &b},
                               gpu::WhereFunctor<T>{cond.data<bool>(), a.data<T>(), b.data<T>(), out.data<T>()});
  });
}

AIMASS_CUDA_KERNEL(clamp)(const Tensor& in, Scalar lo, Scalar hi, const Tensor& out) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::launch_elementwise<2>("clamp", {&out, &in},
                               gpu::ClampFunctor<T>{in.data<T>(), out.data<T>(), scalar_ops::clamp_bound<T>(lo, true),
                                                    scalar_ops::clamp_bound<T>(hi, false)});
  });
}

}  // namespace aimass
