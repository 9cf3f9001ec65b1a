// Block-wide reductions for kernels that give one block to each row (softmax, cross-entropy).
#pragma once
#include <cmath>  // INFINITY

namespace aimass::gpu {

// Reduces v across the block (sum or max); every thread gets the result.
template <typename T, bool kMax>
__device__ T block_reduce(T v, T* scratch) {
  for (int o = 16; o > 0; o >>= 1) {
    T other = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? (other > v || other != other ? other : v) : v + other;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < int(blockDim.x / 32) ? scratch[lane] : (kMax ? -INFINITY : T(0));
    for (int o = 16; o > 0; o >>= 1) {
      T other = __shfl_xor_sync(0xffffffffu, v, o);
      v = kMax ? (other > v || other != other ? other : v) : v + other;
    }
    if (lane == 0) scratch[0] = v;
  }
  __syncthreads();
  T out = scratch[0];
  __syncthreads();  // scratch is reused by the next reduction
  return out;
}

}  // namespace aimass::gpu
