// Cross-entropy over rows of a (N, C) matrix of logits and its gradient: one block per row
// (grid-strided over rows), block-wide max and sum reductions in shared memory as in
// softmax.cu, arithmetic in the element type (float32 or float64; the op layer widens 16-bit
// floats). The coefficients a[n, c] are those of ops/kernels/softmax.h.
#include <cfloat>

#include "cuda/cuda_check.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/kernels/softmax.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;


// coef * logp, where a zero coefficient contributes 0 even against logp = -inf.
template <typename T>
__device__ T term(T coef, T logp) {
  return coef != T(0) ? coef * logp : T(0);
}

template <typename T>
struct Coefs {
  const int64_t* hard;  // (N,) or null
  const T* soft;        // (N, C) or null
  const T* w;           // (C,) or null
  int64_t C;
  T eps;
  int64_t ignore_index;

  __device__ T weight(int64_t c) const { return w ? w[c] : T(1); }
  __device__ T soft_coef(int64_t n, int64_t c) const {
    return weight(c) * ((T(1) - eps) * soft[n * C + c] + eps / T(C));
  }
};

template <typename T>
__global__ void cross_entropy_kernel(const T* in, Coefs<T> k, T* loss, T* sample_weight, T* log_probs, int64_t N) {
  __shared__ T scratch[32];
  const int64_t C = k.C;
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* x = in + n * C;
    T* lp = log_probs + n * C;
    T m = -INFINITY;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) m = (x[c] > m || x[c] != x[c]) ? x[c] : m;
    T shift = block_reduce<T, true>(m, scratch);
    if (isinf(shift)) shift = shift > 0 ? shift : T(0);
    T s = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += exp(x[c] - shift);
    const T log_sum = ::log(block_reduce<T, false>(s, scratch));
    T part = 0;
    const bool hard = k.hard != nullptr;
    const int64_t y = hard ? k.hard[n] : 0;
    const bool ignored = hard && y == k.ignore_index;
    const T spread = k.eps / T(C);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      T l = (x[c] - shift) - log_sum;
      lp[c] = l;
      if (ignored) continue;
      if (hard) part += term(spread * k.weight(c), l);  // spread == 0 adds nothing
      else part += term(k.soft_coef(n, c), l);
    }
    T total = block_reduce<T, false>(part, scratch);
    if (threadIdx.x == 0) {
      if (ignored) {
        loss[n] = T(0);
        sample_weight[n] = T(0);
      } else if (hard) {
        const T wy = k.weight(y);
        loss[n] = -(total + term((T(1) - k.eps) * wy, (x[y] - shift) - log_sum));
        sample_weight[n] = wy;
      } else {
        loss[n] = -total;
        sample_weight[n] = T(1);
      }
    }
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* log_probs, Coefs<T> k, const T* grad_loss, T* grad, int64_t N) {
  __shared__ T scratch[32];
  const int64_t C = k.C;
  // sum_c w[c], for the hard rows' total coefficient.
  T wp = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) wp += k.weight(c);
  const T w_total = block_reduce<T, false>(wp, scratch);
  const T spread = k.eps / T(C);
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const T* lp = log_probs + n * C;
    T* g = grad + n * C;
    const T go = grad_loss[n];
    if (k.hard) {
      const int64_t y = k.hard[n];
      if (y == k.ignore_index) {
        for (int64_t c = threadIdx.x; c < C; c += blockDim.x) g[c] = T(0);
        continue;
      }
      const T hit = (T(1) - k.eps) * k.weight(y);
      const T A = hit + spread * w_total;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
        g[c] = go * (A * exp(lp[c]) - spread * k.weight(c) - (c == y ? hit : T(0)));
    } else {
      T a = 0;
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) a += k.soft_coef(n, c);
      const T A = block_reduce<T, false>(a, scratch);
      for (int64_t c = threadIdx.x; c < C; c += blockDim.x) g[c] = go * (A * exp(lp[c]) - k.soft_coef(n, c));
    }
  }
}

unsigned rows_grid(int64_t R) { return unsigned(R < 65535 ? R : 65535); }

template <typename T>
Coefs<T> coefs(const Tensor& target, const Tensor& weight, int64_t C, double eps, int64_t ignore_index) {
  Coefs<T> k;
  k.hard = target.dim() == 2 ? nullptr : target.data<int64_t>();
  k.soft = target.dim() == 2 ? target.data<T>() : nullptr;
  k.w = weight.defined() ? weight.data<T>() : nullptr;
  k.C = C;
  k.eps = T(eps);
  k.ignore_index = ignore_index;
  return k;
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(cross_entropy)(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                  double label_smoothing, int64_t ignore_index, const Tensor& loss,
                                  const Tensor& sample_weight, const Tensor& log_probs) {
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  if (N == 0 || C == 0) return;
  gpu::DeviceGuard guard(logits.device().index, "cross_entropy");
  if (logits.dtype() == DType::Float64)
    gpu::cross_entropy_kernel<double><<<gpu::rows_grid(N), gpu::kThreads>>>(
        logits.data<double>(), gpu::coefs<double>(target, weight, C, label_smoothing, ignore_index),
        loss.data<double>(), sample_weight.data<double>(), log_probs.data<double>(), N);
  else
    gpu::cross_entropy_kernel<float><<<gpu::rows_grid(N), gpu::kThreads>>>(
        logits.data<float>(), gpu::coefs<float>(target, weight, C, label_smoothing, ignore_index),
        loss.data<float>(), sample_weight.data<float>(), log_probs.data<float>(), N);
  gpu::check_launch("cross_entropy");
}

AIMASS_CUDA_KERNEL(cross_entropy_backward)(const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                                           double label_smoothing, int64_t ignore_index, const Tensor& grad_loss,
                                           const Tensor& grad_logits) {
  const int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  if (N == 0 || C == 0) return;
  gpu::DeviceGuard guard(log_probs.device().index, "cross_entropy_backward");
  if (log_probs.dtype() == DType::Float64)
    gpu::cross_entropy_backward_kernel<double><<<gpu::rows_grid(N), gpu::kThreads>>>(
        log_probs.data<double>(), gpu::coefs<double>(target, weight, C, label_smoothing, ignore_index),
        grad_loss.data<double>(), grad_logits.data<double>(), N);
  else
    gpu::cross_entropy_backward_kernel<float><<<gpu::rows_grid(N), gpu::kThreads>>>(
        log_probs.data<float>(), gpu::coefs<float>(target, weight, C, label_smoothing, ignore_index),
        grad_loss.data<float>(), grad_logits.data<float>(), N);
  gpu::check_launch("cross_entropy_backward");
}

}  // namespace aimass
