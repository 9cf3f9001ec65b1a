// where (out = cond ? a : b) and clamp (out = min(max(in, lo), hi), NaN propagating).
// All operands out's shape (broadcast views allowed), any strides.
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

template <typename T>
struct ClampFunctor {
  using A = acc_t<T>;
  const T* in;
  T* out;
  A lo, hi;
  __device__ void operator()(const int64_t (&off)[2]) const {
    out[off[0]] = convert<T>(nan_minimum(nan_maximum(A(in[off[1]]), lo), hi));
  }
};

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
    using A = acc_t<T>;
    gpu::launch_elementwise<2>("clamp", {&out, &in},
                               gpu::ClampFunctor<T>{in.data<T>(), out.data<T>(), gpu::scalar_as<A>(lo),
                                                    gpu::scalar_as<A>(hi)});
  });
}
