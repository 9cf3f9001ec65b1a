// Fused optimizer steps and the gradient scale-and-norm pass on CUDA, multi-tensor: one launch
// covers up to kMaxTensors parameters, whose pointers, sizes and step scalars travel in the
// kernel's argument block (no device-side metadata to allocate or copy). Each block takes one
// kChunk slice of one tensor; blocks find their tensor from the prefix of chunk counts. The
// per-element formulas are those of ops/cpu/optim.cpp (the reference), in the element type.
#include <cmath>
#include <vector>

#include "core/tensor.h"
#include "cuda/cuda_check.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/kernels/optim.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = 16 * kThreads;  // elements per block
constexpr int kMaxTensors = 24;            // keeps the argument block well under 4 KiB

template <typename T>
struct TensorList {
  T* p[kMaxTensors];
  const T* g[kMaxTensors];
  T* s[3][kMaxTensors];
  int64_t n[kMaxTensors];
  T step_size[kMaxTensors], inv_sqrt_bc2[kMaxTensors];  // Adam: lr / bc1, 1 / sqrt(bc2); Adagrad: clr
  bool fresh[kMaxTensors];
  int block_start[kMaxTensors + 1];  // tensor k owns blocks [block_start[k], block_start[k + 1])
  int count;
};

template <typename T>
struct Consts {
  T lr, wd, decay, b1, b2, one_minus_b1, one_minus_b2, eps, momentum, one_minus_dampening, alpha, one_minus_alpha;
  bool has_decay, nesterov, amsgrad, decoupled, centered, has_momentum;
};

template <typename T>
__global__ void optim_step_kernel(OptimAlgo algo, Consts<T> c, TensorList<T> list) {
  int k = 0;
  while (k + 1 < list.count && int(blockIdx.x) >= list.block_start[k + 1]) ++k;
  const int64_t begin = int64_t(blockIdx.x - list.block_start[k]) * kChunk;
  const int64_t end = min(list.n[k], begin + kChunk);
  T* p = list.p[k];
  const T* g = list.g[k];
  T *s0 = list.s[0][k], *s1 = list.s[1][k], *s2 = list.s[2][k];
  const T step_size = list.step_size[k], inv_sqrt_bc2 = list.inv_sqrt_bc2[k];
  const bool fresh = list.fresh[k];
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    T pi = p[i], d = g[i];
    switch (algo) {
      case OptimAlgo::SGD:
        if (c.has_decay) d += c.wd * pi;
        if (c.has_momentum) {
          T b = fresh ? d : c.momentum * s0[i] + c.one_minus_dampening * d;
          s0[i] = b;
          d = c.nesterov ? d + c.momentum * b : b;
        }
        pi -= c.lr * d;
        break;
      case OptimAlgo::Adam: {
        if (c.decoupled) pi *= c.decay;
        else if (c.has_decay) d += c.wd * pi;
        T m = c.b1 * s0[i] + c.one_minus_b1 * d;
        T v = c.b2 * s1[i] + c.one_minus_b2 * d * d;
        s0[i] = m;
        s1[i] = v;
        if (c.amsgrad) {
          v = v > s2[i] ? v : s2[i];
          s2[i] = v;
        }
        pi -= step_size * m / (sqrt(v) * inv_sqrt_bc2 + c.eps);
        break;
      }
      case OptimAlgo::RMSprop: {
        if (c.has_decay) d += c.wd * pi;
        T sq = c.alpha * s0[i] + c.one_minus_alpha * d * d;
        s0[i] = sq;
        T avg;
        if (c.centered) {
          T a = c.alpha * s2[i] + c.one_minus_alpha * d;
          s2[i] = a;
          avg = sqrt(sq - a * a) + c.eps;
        } else {
          avg = sqrt(sq) + c.eps;
        }
        if (c.has_momentum) {
          T b = c.momentum * s1[i] + d / avg;
          s1[i] = b;
          pi -= c.lr * b;
        } else {
          pi -= c.lr * d / avg;
        }
        break;
      }
      case OptimAlgo::Adagrad: {
        if (c.has_decay) d += c.wd * pi;
        T s = s0[i] + d * d;
        s0[i] = s;
        pi -= step_size * d / (sqrt(s) + c.eps);
        break;
      }
      case OptimAlgo::Lion: {
        T m = s0[i];
        T u = c.b1 * m + c.one_minus_b1 * d;
        pi = pi * c.decay - c.lr * (u > T(0) ? T(1) : (u < T(0) ? T(-1) : T(0)));
        s0[i] = c.b2 * m + c.one_minus_b2 * d;
        break;
      }
    }
    p[i] = pi;
  }
}

template <typename T>
Consts<T> consts(const OptimHyper& hp) {
  return {T(hp.lr), T(hp.weight_decay), T(1 - hp.lr * hp.weight_decay), T(hp.beta1), T(hp.beta2),
          T(1 - hp.beta1), T(1 - hp.beta2), T(hp.eps), T(hp.momentum), T(1 - hp.dampening), T(hp.alpha),
          T(1 - hp.alpha), hp.weight_decay != 0, hp.nesterov, hp.amsgrad, hp.decoupled_weight_decay, hp.centered,
          hp.momentum != 0};
}

template <typename T>
void launch_step(OptimAlgo algo, const OptimHyper& hp, const std::vector<const OptimParam*>& params) {
  const Consts<T> c = consts<T>(hp);
  TensorList<T> list{};
  auto flush = [&] {
    if (list.count == 0) return;
    optim_step_kernel<T><<<list.block_start[list.count], kThreads>>>(algo, c, list);
    check_launch("optim_step");
    list = TensorList<T>{};
  };
  for (const OptimParam* op : params) {
    const int64_t n = op->param.numel();
    if (n == 0) continue;
    // Block indices stay below 2^31: a very large tensor takes several launches of its own.
    for (int64_t lo = 0; lo < n;) {
      const int64_t max_blocks = int64_t(1) << 30;
      const int64_t blocks_left = max_blocks - list.block_start[list.count];
      if (list.count == kMaxTensors || blocks_left < 1) {
        flush();
        continue;
      }
      const int64_t len = std::min(n - lo, blocks_left * kChunk);
      const int k = list.count;
      list.p[k] = op->param.data<T>() + lo;
      list.g[k] = op->grad.data<T>() + lo;
      for (int s = 0; s < 3; ++s) list.s[s][k] = op->state[s].defined() ? op->state[s].data<T>() + lo : nullptr;
      list.n[k] = len;
      const double t = double(op->step);
      if (algo == OptimAlgo::Adam) {
        list.step_size[k] = T(hp.lr / (1 - std::pow(hp.beta1, t)));
        list.inv_sqrt_bc2[k] = T(1 / std::sqrt(1 - std::pow(hp.beta2, t)));
      } else if (algo == OptimAlgo::Adagrad) {
        list.step_size[k] = T(hp.lr / (1 + (t - 1) * hp.lr_decay));
      }
      list.fresh[k] = op->fresh;
      list.block_start[k + 1] = list.block_start[k] + int((len + kChunk - 1) / kChunk);
      list.count = k + 1;
      lo += len;
    }
  }
  flush();
}

// Sum of squares (in double) of one tensor, scaled in place unless scale == 1; one atomic add
// per block into *total.
template <typename T>
__global__ void grad_scale_kernel(T* x, int64_t n, double scale, double* total) {
  __shared__ double scratch[32];
  double sum = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    double v;
    if constexpr (std::is_same_v<T, double>) v = x[i];
    else v = double(float(x[i]));
    sum += v * v;
    if (scale != 1) {
      if constexpr (std::is_same_v<T, double>) x[i] = v * scale;
      else x[i] = T(float(v * scale));
    }
  }
  double block_sum = block_reduce<double, false>(sum, scratch);
  if (threadIdx.x == 0) atomicAdd(total, block_sum);
}

template <typename T>
void launch_scale(const Tensor& g, double scale, double* total) {
  const int64_t n = g.numel();
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 4096);
  grad_scale_kernel<T><<<unsigned(blocks), kThreads>>>(g.data<T>(), n, scale, total);
  check_launch("grad_scale");
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(optim_step)(OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params) {
  if (params.empty()) return;
  gpu::DeviceGuard guard(params[0].param.device().index, "optim_step");
  std::vector<const OptimParam*> f32, f64;
  for (const OptimParam& op : params) (op.param.dtype() == DType::Float64 ? f64 : f32).push_back(&op);
  if (!f32.empty()) gpu::launch_step<float>(algo, hp, f32);
  if (!f64.empty()) gpu::launch_step<double>(algo, hp, f64);
}

AIMASS_CUDA_KERNEL(grad_scale)(const std::vector<Tensor>& grads, double scale) {
  if (grads.empty()) return 0.0;
  const Device device = grads[0].device();
  gpu::DeviceGuard guard(device.index, "grad_scale");
  Tensor total = Tensor::empty({1}, DType::Float64, device);
  AM_CUDA_CHECK(cudaMemset(total.data_ptr(), 0, sizeof(double)), "grad_scale");
  for (const Tensor& g : grads) {
    if (g.numel() == 0) continue;
    switch (g.dtype()) {
      case DType::Float64: gpu::launch_scale<double>(g, scale, total.data<double>()); break;
      case DType::Float16: gpu::launch_scale<Half>(g, scale, total.data<double>()); break;
      case DType::BFloat16: gpu::launch_scale<BFloat16>(g, scale, total.data<double>()); break;
      default: gpu::launch_scale<float>(g, scale, total.data<double>()); break;
    }
  }
  double out = 0;
  AM_CUDA_CHECK(cudaMemcpy(&out, total.data_ptr(), sizeof(double), cudaMemcpyDeviceToHost), "grad_scale");
  return out;
}

}  // namespace aimass
