// Softmax / log_softmax over rows of a (R, C) matrix and their gradients: one block per row
// (grid-strided over rows), block-wide max and sum reductions in shared memory, arithmetic in
// the element type (float32 or float64; the op layer widens 16-bit floats).
#include <cfloat>

#include "cuda/cuda_check.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/kernels/softmax.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void softmax_kernel(const T* in, T* out, int64_t R, int64_t C, bool log) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* x = in + r * C;
    T* y = out + r * C;
    T m = -INFINITY;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = (x[c] > m || x[c] != x[c]) ? x[c] : m;
    T shift = block_reduce<T, true>(m, scratch);
    if (isinf(shift)) shift = shift > 0 ? shift : T(0);  // an all -inf row stays NaN below
    T s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += exp(x[c] - shift);
    T total = block_reduce<T, false>(s, scratch);
    if (log) {
      T log_sum = ::log(total);  // (x - max) - log sum: no x - (max + log sum) cancellation
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) y[c] = (x[c] - shift) - log_sum;
    } else {
      T inv = T(1) / total;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) y[c] = exp(x[c] - shift) * inv;
    }
  }
}

template <typename T>
__global__ void softmax_backward_kernel(const T* y, const T* go, T* gi, int64_t R, int64_t C, bool log) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* yr = y + r * C;
    const T* gor = go + r * C;
    T* gir = gi + r * C;
    T s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += log ? gor[c] : gor[c] * yr[c];
    T total = block_reduce<T, false>(s, scratch);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      gir[c] = log ? gor[c] - exp(yr[c]) * total : yr[c] * (gor[c] - total);
  }
}

unsigned rows_grid(int64_t R) { return unsigned(R < 65535 ? R : 65535); }

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(softmax)(const Tensor& in, const Tensor& out, bool log) {
  const int64_t R = in.shape()[0], C = in.shape()[1];
  if (R == 0 || C == 0) return;
  gpu::DeviceGuard guard(in.device().index, "softmax");
  if (in.dtype() == DType::Float64)
    gpu::softmax_kernel<double><<<gpu::rows_grid(R), gpu::kThreads>>>(in.data<double>(), out.data<double>(), R, C, log);
  else
    gpu::softmax_kernel<float><<<gpu::rows_grid(R), gpu::kThreads>>>(in.data<float>(), out.data<float>(), R, C, log);
  gpu::check_launch("softmax");
}

AIMASS_CUDA_KERNEL(softmax_backward)(const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, bool log) {
  const int64_t R = y.shape()[0], C = y.shape()[1];
  if (R == 0 || C == 0) return;
  gpu::DeviceGuard guard(y.device().index, "softmax_backward");
  if (y.dtype() == DType::Float64)
    gpu::softmax_backward_kernel<double><<<gpu::rows_grid(R), gpu::kThreads>>>(
        y.data<double>(), grad_out.data<double>(), grad_in.data<double>(), R, C, log);
  else
    gpu::softmax_backward_kernel<float><<<gpu::rows_grid(R), gpu::kThreads>>>(
        y.data<float>(), grad_out.data<float>(), grad_in.data<float>(), R, C, log);
  gpu::check_launch("softmax_backward");
}

}  // namespace aimass
