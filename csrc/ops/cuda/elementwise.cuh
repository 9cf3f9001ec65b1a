// Launching an elementwise functor over N operands (operand 0 is the output). The functor is
// called as f(off) with off[k] the element offset of operand k; a contiguous problem takes a
// kernel that skips the index arithmetic. Grid-stride loops: any size fits one launch.
#pragma once
#include <algorithm>
#include <array>

#include "cuda/cuda_check.h"
#include "ops/cuda/strided_index.cuh"

namespace aimass::gpu {

constexpr int kBlockSize = 256;

// Enough blocks to fill the GPU several times over; the grid-stride loop does the rest.
inline unsigned grid_for(int64_t n) {
  return unsigned(std::clamp<int64_t>((n + kBlockSize - 1) / kBlockSize, 1, int64_t(1) << 16));
}

template <int N, typename F>
__global__ void elementwise_contiguous_kernel(int64_t n, F f) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[N];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = i;
    f(off);
  }
}

template <int N, typename F>
__global__ void elementwise_strided_kernel(int64_t n, StridedIndexer<N> ix, F f) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[N];
    ix.offsets(i, off);
    f(off);
  }
}

// Runs f over every element of tensors[0]'s shape on tensors[0]'s device.
template <int N, typename F>
void launch_elementwise(const char* op, const std::array<const Tensor*, N>& tensors, const F& f) {
  int64_t n = tensors[0]->numel();
  if (n == 0) return;
  DeviceGuard guard(tensors[0]->device().index, op);
  StridedIndexer<N> ix = make_indexer<N>(tensors, op);
  if (ix.contiguous()) elementwise_contiguous_kernel<N><<<grid_for(n), kBlockSize>>>(n, f);
  else elementwise_strided_kernel<N><<<grid_for(n), kBlockSize>>>(n, ix, f);
  check_launch(op);
}

// Calls f with a null T* for the compute type of a floating tensor: double for float64, float
// otherwise (kernels whose op layer has widened 16-bit floats to float32).
template <typename F>
void by_dtype(const Tensor& x, F&& f) {
  if (x.dtype() == DType::Float64) f(static_cast<double*>(nullptr));
  else f(static_cast<float*>(nullptr));
}

}  // namespace aimass::gpu
