// Inverted dropout (contract in ops/kernels/random.h): one thread per Philox counter, which serves
// four elements, with the CPU kernel's mask rule, so both devices drop the same elements.
#include "ops/random_values.h"
#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/kernels/random.h"

namespace aimass::gpu {
namespace {

template <typename T>
__global__ void dropout_kernel(const T* in, T* out, int64_t n, double p, acc_t<T> scale, uint64_t seed,
                               uint64_t offset) {
  const int64_t counters = (n + 3) / 4;
  for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < counters; c += int64_t(gridDim.x) * blockDim.x)
    dropout_group(in, out, n, c, p, scale, seed, offset);
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(dropout)(const Tensor& in, const Tensor& out, double p, uint64_t seed, uint64_t offset) {
  const int64_t n = in.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(in.device().index, "dropout");
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = acc_t<T>;
    if constexpr (std::is_floating_point_v<A>) {
      const A scale = p < 1 ? A(1.0 / (1.0 - p)) : A(0);
      gpu::dropout_kernel<T><<<gpu::grid_for((n + 3) / 4), gpu::kBlockSize>>>(in.data<T>(), out.data<T>(), n, p,
                                                                              scale, seed, offset);
    }
  });
  gpu::check_launch("dropout");
}

}  // namespace aimass
