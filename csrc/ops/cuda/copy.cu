// copy (dst = src converted to dst's dtype; same shape and device, any strides, src may be
// broadcast) and fill (every element of out = value). Host <-> device transfers are not here:
// they are DeviceApi::copy.
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/elementwise.h"

namespace aimass::gpu {
namespace {

template <typename To, typename From>
struct CopyFunctor {
  const From* src;
  To* dst;
  __device__ void operator()(const int64_t (&off)[2]) const { dst[off[0]] = convert<To>(src[off[1]]); }
};

template <typename T>
struct FillFunctor {
  T* out;
  T value;
  __device__ void operator()(const int64_t (&off)[1]) const { out[off[0]] = value; }
};

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(copy)(const Tensor& src, const Tensor& dst) {
  if (dst.numel() == 0) return;
  if (src.dtype() == dst.dtype() && gpu::make_indexer<2>({&dst, &src}, "copy").contiguous()) {
    gpu::DeviceGuard guard(dst.device().index, "copy");
    AM_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), dst.nbytes(), cudaMemcpyDeviceToDevice, 0), "copy");
    return;
  }
  visit_dtype(dst.dtype(), [&](auto to_tag) {
    using To = typename decltype(to_tag)::type;
    visit_dtype(src.dtype(), [&](auto from_tag) {
      using From = typename decltype(from_tag)::type;
      gpu::launch_elementwise<2>("copy", {&dst, &src}, gpu::CopyFunctor<To, From>{src.data<From>(), dst.data<To>()});
    });
  });
}

AIMASS_CUDA_KERNEL(fill)(const Tensor& out, Scalar value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::launch_elementwise<1>("fill", {&out}, gpu::FillFunctor<T>{out.data<T>(), gpu::scalar_as<T>(value)});
  });
}

}  // namespace aimass
