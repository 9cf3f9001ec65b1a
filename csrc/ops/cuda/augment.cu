// The data pipeline's batch augmentation on the GPU (CPU reference: ops/cpu/augment.cpp).
// crop_flip: one thread per output element, moving bits (instantiated per element size);
// mixup: one thread per output element, arithmetic in the element type (float32 / float64).
#include "cuda/cuda_check.h"
#include "ops/kernels/augment.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

unsigned elementwise_grid(int64_t n) {
  int64_t blocks = (n + kThreads - 1) / kThreads;
  return unsigned(blocks < 65535 ? blocks : 65535);
}

// in, out: (B, C, H, W); params: (B, 3) [flip, dy, dx]. out[b, c, i, j] = P[i + dy, jj + dx]
// with jj = flip ? W - 1 - j : j and P the plane zero-padded by pad.
template <typename Bits>
__global__ void crop_flip_kernel(const Bits* in, const int64_t* params, Bits* out, int64_t n, int64_t C, int64_t H,
                                 int64_t W, int64_t pad) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t j = e % W, i = (e / W) % H, q = e / (H * W), b = q / C;
    const int64_t* p = params + b * 3;
    const int64_t r = i + p[1] - pad;
    const int64_t s = (p[0] ? W - 1 - j : j) + p[2] - pad;
    out[e] = (r >= 0 && r < H && s >= 0 && s < W) ? in[(q * H + r) * W + s] : Bits(0);
  }
}

template <typename T>
__global__ void mixup_kernel(const T* in, const int64_t* partner, const double* lam, T* out, int64_t n, int64_t F) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = e / F, f = e % F;
    const T a = T(lam[b]);
    out[e] = a * in[e] + (T(1) - a) * in[partner[b] * F + f];
  }
}

template <typename Bits>
void launch_crop_flip(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out) {
  const int64_t n = in.numel(), C = in.shape()[1], H = in.shape()[2], W = in.shape()[3];
  crop_flip_kernel<Bits><<<elementwise_grid(n), kThreads>>>(in.data<Bits>(), params.data<int64_t>(), out.data<Bits>(),
                                                           n, C, H, W, pad);
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(crop_flip)(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out) {
  if (in.numel() == 0) return;
  gpu::DeviceGuard guard(in.device().index, "crop_flip");
  switch (in.itemsize()) {
    case 1: gpu::launch_crop_flip<uint8_t>(in, params, pad, out); break;
    case 2: gpu::launch_crop_flip<uint16_t>(in, params, pad, out); break;
    case 4: gpu::launch_crop_flip<uint32_t>(in, params, pad, out); break;
    default: gpu::launch_crop_flip<unsigned long long>(in, params, pad, out); break;
  }
  gpu::check_launch("crop_flip");
}

AIMASS_CUDA_KERNEL(mixup)(const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out) {
  const int64_t n = in.numel();
  if (n == 0) return;
  const int64_t F = n / in.shape()[0];
  gpu::DeviceGuard guard(in.device().index, "mixup");
  if (in.dtype() == DType::Float64)
    gpu::mixup_kernel<double><<<gpu::elementwise_grid(n), gpu::kThreads>>>(
        in.data<double>(), partner.data<int64_t>(), lam.data<double>(), out.data<double>(), n, F);
  else
    gpu::mixup_kernel<float><<<gpu::elementwise_grid(n), gpu::kThreads>>>(
        in.data<float>(), partner.data<int64_t>(), lam.data<double>(), out.data<float>(), n, F);
  gpu::check_launch("mixup");
}

}  // namespace aimass
