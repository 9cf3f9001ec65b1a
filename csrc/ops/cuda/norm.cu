// Layer norm and batch norm and their gradients (contracts in ops/kernels/norm.h), float32 or float64
// (the op layer widens 16-bit floats). Layer norm: one block per row (grid-strided over rows),
// two block reductions for the statistics; its weight / bias gradients are column sums, one
// block per 32 columns. Batch norm: one block per channel reduces its N * S values, then an
// elementwise pass.
#include "cuda/cuda_check.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/cuda/elementwise.cuh"
#include "ops/kernels/norm.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return unsigned(n < 65535 ? n : 65535); }

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ------------------------------------------------------------------ layer norm

// x, y: (R, D); w, b: (D,) or null; mean, rstd: (R,).
template <typename T>
__global__ void layer_norm_kernel(const T* x, const T* w, const T* b, T eps, T* y, T* mean, T* rstd, int64_t R,
                                  int64_t D) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* xr = x + r * D;
    T s = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) s += xr[i];
    const T m = block_reduce<T, false>(s, scratch) / T(D);
    T v = 0;  // a second pass over the centred row: no E[x^2] - E[x]^2 cancellation
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) v += (xr[i] - m) * (xr[i] - m);
    const T rs = T(1) / sqrt(block_reduce<T, false>(v, scratch) / T(D) + eps);
    if (threadIdx.x == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    T* yr = y + r * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
      yr[i] = (xr[i] - m) * rs * (w ? w[i] : T(1)) + (b ? b[i] : T(0));
  }
}

template <typename T>
__global__ void layer_norm_backward_kernel(const T* dy, const T* x, const T* w, const T* mean, const T* rstd, T* dx,
                                           int64_t R, int64_t D) {
  __shared__ T scratch[32];
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* g = dy + r * D;
    const T* xr = x + r * D;
    const T m = mean[r], rs = rstd[r];
    T sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x) {
      const T gi = g[i] * (w ? w[i] : T(1));
      sg += gi;
      sgx += gi * (xr[i] - m) * rs;
    }
    const T a = block_reduce<T, false>(sg, scratch) / T(D);
    const T c = block_reduce<T, false>(sgx, scratch) / T(D);
    T* out = dx + r * D;
    for (int64_t i = threadIdx.x; i < D; i += blockDim.x)
      out[i] = rs * (g[i] * (w ? w[i] : T(1)) - a - (xr[i] - m) * rs * c);
  }
}

// dw[i] = sum_r dy * xhat, db[i] = sum_r dy: a (32, 8) block owns 32 columns; its 8 rows of
// threads stride over the rows and meet in shared memory.
template <typename T>
__global__ void layer_norm_param_grad_kernel(const T* dy, const T* x, const T* mean, const T* rstd, T* dw, T* db,
                                             int64_t R, int64_t D) {
  __shared__ T sw[8][33], sb[8][33];
  const int64_t i = int64_t(blockIdx.x) * 32 + threadIdx.x;
  T aw = 0, ab = 0;
  if (i < D)
    for (int64_t r = threadIdx.y; r < R; r += blockDim.y) {
      const T g = dy[r * D + i];
      aw += g * (x[r * D + i] - mean[r]) * rstd[r];
      ab += g;
    }
  sw[threadIdx.y][threadIdx.x] = aw;
  sb[threadIdx.y][threadIdx.x] = ab;
  __syncthreads();
  if (threadIdx.y == 0 && i < D) {
    for (int k = 1; k < int(blockDim.y); ++k) {
      aw += sw[k][threadIdx.x];
      ab += sb[k][threadIdx.x];
    }
    if (dw) dw[i] = aw;
    if (db) db[i] = ab;
  }
}

// ------------------------------------------------------------------ batch norm

// Channel c of x (N, C, S): value j of its N * S is x[(j / S) * C * S + c * S + j % S].
template <typename T>
__device__ T channel_value(const T* x, int64_t c, int64_t j, int64_t C, int64_t S) {
  return x[(j / S) * C * S + c * S + j % S];
}

template <typename T>
__global__ void batch_norm_stats_kernel(const T* x, T* mean, T* var, int64_t N, int64_t C, int64_t S) {
  __shared__ T scratch[32];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    T s = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) s += channel_value(x, c, j, C, S);
    const T m = block_reduce<T, false>(s, scratch) / T(M);
    T v = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const T d = channel_value(x, c, j, C, S) - m;
      v += d * d;
    }
    const T total = block_reduce<T, false>(v, scratch);
    if (threadIdx.x == 0) {
      mean[c] = m;
      var[c] = total / T(M);
    }
  }
}

template <typename T>
__global__ void batch_norm_apply_kernel(const T* x, const T* mean, const T* invstd, const T* w, const T* b, T* y,
                                        int64_t n, int64_t C, int64_t S) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / S) % C;
    y[i] = (x[i] - mean[c]) * invstd[c] * (w ? w[c] : T(1)) + (b ? b[c] : T(0));
  }
}

// sums[2 c] = sum dy, sums[2 c + 1] = sum dy * (x - mean) over channel c; also the weight /
// bias gradients.
template <typename T>
__global__ void batch_norm_grad_sums_kernel(const T* dy, const T* x, const T* mean, const T* invstd, T* sums, T* dw,
                                            T* db, int64_t N, int64_t C, int64_t S) {
  __shared__ T scratch[32];
  const int64_t M = N * S;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const T m = mean[c];
    T sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const T g = channel_value(dy, c, j, C, S);
      sg += g;
      sgx += g * (channel_value(x, c, j, C, S) - m);
    }
    const T a = block_reduce<T, false>(sg, scratch);
    const T q = block_reduce<T, false>(sgx, scratch);
    if (threadIdx.x == 0) {
      sums[2 * c] = a;
      sums[2 * c + 1] = q;
      if (dw) dw[c] = q * invstd[c];
      if (db) db[c] = a;
    }
  }
}

template <typename T>
__global__ void batch_norm_grad_input_kernel(const T* dy, const T* x, const T* mean, const T* invstd, const T* w,
                                             const T* sums, bool training, T* dx, int64_t n, int64_t C, int64_t S,
                                             int64_t M) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = (i / S) % C;
    const T is = invstd[c], k = is * (w ? w[c] : T(1));
    if (training) {
      const T a = sums[2 * c] / T(M), q = is * is * sums[2 * c + 1] / T(M);
      dx[i] = k * (dy[i] - a - (x[i] - mean[c]) * q);
    } else {
      dx[i] = k * dy[i];
    }
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(layer_norm)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                               const Tensor& mean, const Tensor& rstd) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  if (R == 0 || D == 0) return;
  gpu::DeviceGuard guard(x.device().index, "layer_norm");
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gpu::layer_norm_kernel<T><<<gpu::blocks_for(R), gpu::kThreads>>>(
        x.data<T>(), gpu::data_or_null<T>(weight), gpu::data_or_null<T>(bias), T(eps), y.data<T>(), mean.data<T>(),
        rstd.data<T>(), R, D);
  });
  gpu::check_launch("layer_norm");
}

AIMASS_CUDA_KERNEL(layer_norm_backward)(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                        const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                        const Tensor& grad_bias) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  if (R == 0 || D == 0) return;
  gpu::DeviceGuard guard(x.device().index, "layer_norm_backward");
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gpu::layer_norm_backward_kernel<T><<<gpu::blocks_for(R), gpu::kThreads>>>(
        grad_y.data<T>(), x.data<T>(), gpu::data_or_null<T>(weight), mean.data<T>(), rstd.data<T>(),
        grad_x.data<T>(), R, D);
    gpu::check_launch("layer_norm_backward");
    if (grad_weight.defined() || grad_bias.defined()) {
      T* dw = grad_weight.defined() ? grad_weight.data<T>() : nullptr;
      T* db = grad_bias.defined() ? grad_bias.data<T>() : nullptr;
      gpu::layer_norm_param_grad_kernel<T><<<unsigned((D + 31) / 32), dim3(32, 8)>>>(
          grad_y.data<T>(), x.data<T>(), mean.data<T>(), rstd.data<T>(), dw, db, R, D);
      gpu::check_launch("layer_norm_backward");
    }
  });
}

AIMASS_CUDA_KERNEL(batch_norm_stats)(const Tensor& x, const Tensor& mean, const Tensor& var) {
  const int64_t N = x.shape()[0], C = x.shape()[1], S = x.shape()[2];
  if (C == 0 || N * S == 0) return;
  gpu::DeviceGuard guard(x.device().index, "batch_norm_stats");
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gpu::batch_norm_stats_kernel<T><<<gpu::blocks_for(C), gpu::kThreads>>>(x.data<T>(), mean.data<T>(),
                                                                           var.data<T>(), N, C, S);
  });
  gpu::check_launch("batch_norm_stats");
}

AIMASS_CUDA_KERNEL(batch_norm_apply)(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                     const Tensor& bias, const Tensor& y) {
  const int64_t n = x.numel(), C = x.shape()[1], S = x.shape()[2];
  if (n == 0) return;
  gpu::DeviceGuard guard(x.device().index, "batch_norm_apply");
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gpu::batch_norm_apply_kernel<T><<<gpu::grid_for(n), gpu::kBlockSize>>>(
        x.data<T>(), mean.data<T>(), invstd.data<T>(), gpu::data_or_null<T>(weight), gpu::data_or_null<T>(bias),
        y.data<T>(), n, C, S);
  });
  gpu::check_launch("batch_norm_apply");
}

AIMASS_CUDA_KERNEL(batch_norm_backward)(const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                                        const Tensor& weight, bool training, const Tensor& grad_x,
                                        const Tensor& grad_weight, const Tensor& grad_bias) {
  const int64_t n = x.numel(), N = x.shape()[0], C = x.shape()[1], S = x.shape()[2];
  if (n == 0) return;
  gpu::DeviceGuard guard(x.device().index, "batch_norm_backward");
  // The per-channel sums live in a small device tensor from the caching allocator.
  Tensor sums = Tensor::empty({2 * C}, x.dtype(), x.device());
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gpu::batch_norm_grad_sums_kernel<T><<<gpu::blocks_for(C), gpu::kThreads>>>(
        grad_y.data<T>(), x.data<T>(), mean.data<T>(), invstd.data<T>(), sums.data<T>(),
        grad_weight.defined() ? grad_weight.data<T>() : nullptr, grad_bias.defined() ? grad_bias.data<T>() : nullptr,
        N, C, S);
    gpu::check_launch("batch_norm_backward");
    gpu::batch_norm_grad_input_kernel<T><<<gpu::grid_for(n), gpu::kBlockSize>>>(
        grad_y.data<T>(), x.data<T>(), mean.data<T>(), invstd.data<T>(), gpu::data_or_null<T>(weight),
        sums.data<T>(), training, grad_x.data<T>(), n, C, S, N * S);
    gpu::check_launch("batch_norm_backward");
  });
}

}  // namespace aimass
