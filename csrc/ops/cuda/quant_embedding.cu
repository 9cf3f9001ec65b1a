// The int8 embedding lookup on CUDA (contract: ops/kernels/quant.h; CPU: ops/cpu/quant.cpp):
// out (n, dim) = table[ids[i]] * scale[ids[i]], one element a thread (consecutive threads read
// consecutive bytes of a row). An id outside [0, num) writes zeros and raises the flag bad[0],
// which the op layer reads to raise IndexError (a kernel cannot throw).
#include "cuda/cuda_check.h"
#include "ops/kernels/quant.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

__global__ void int8_embedding_kernel(const int64_t* ids, int64_t n, const int8_t* table, int64_t num, int64_t dim,
                                      const float* scale, float* out, int32_t* bad) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * dim; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / dim, j = i % dim, id = ids[row];
    if (id < 0 || id >= num) {
      out[i] = 0.0f;
      atomicExch(bad, 1);  // every writer stores the same 1; atomic so that no store is a race
      continue;
    }
    out[i] = float(table[id * dim + j]) * scale[id];
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(int8_embedding)(const Tensor& ids, const Tensor& table, const Tensor& scale, const Tensor& out,
                                   const Tensor& bad) {
  const int64_t n = ids.numel(), num = table.size(0), dim = table.size(1);
  if (n == 0 || dim == 0) return;
  gpu::DeviceGuard guard(out.device().index, "int8_embedding");
  const int64_t blocks = (n * dim + gpu::kThreads - 1) / gpu::kThreads;
  gpu::int8_embedding_kernel<<<unsigned(blocks < 65536 ? blocks : 65536), gpu::kThreads>>>(
      ids.data<int64_t>(), n, table.data<int8_t>(), num, dim, scale.data<float>(), out.data<float>(),
      bad.data<int32_t>());
  gpu::check_launch("int8_embedding");
}

}  // namespace aimass
