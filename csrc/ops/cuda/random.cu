// Fills contiguous out from the Philox stream (core/philox.h): element i from counter offset + i,
// by the same value rule (philox_value) as the CPU kernel, so both devices draw the same numbers.
#include "ops/random_values.h"
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/kernels/random.h"

namespace aimass::gpu {
namespace {

template <typename T>
__global__ void random_kernel(T* out, int64_t n, uint64_t offset, RandomParams<T> p) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = philox_value(p, offset + uint64_t(i));
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(random)(RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(out.device().index, "random");
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    gpu::random_kernel<T><<<gpu::grid_for(n), gpu::kBlockSize>>>(out.data<T>(), n, offset,
                                                                 random_params<T>(kind, a, b, seed));
    gpu::check_launch("random");
  });
}

}  // namespace aimass
