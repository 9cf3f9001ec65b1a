// The losses on CUDA (formulas in ops/kernels/loss.h; the element rules are ops/loss_rules.h, the
// same code as the CPU kernel runs).
//   Pointwise losses: one grid-strided pass. Reduced, each block sums its elements in double
//   and writes one partial; a second one-block kernel adds the partials in order and scales
//   them (deterministic, no atomics, no host sync). The backward is one pass writing both
//   gradients; the upstream gradient of a reduced loss is read on the device.
//   Distillation: one block per row (grid-strided over rows), block-wide max / sum reductions
//   as in softmax.cu; the backward recomputes the row statistics instead of saving (R, C).
#include "cuda/cuda_check.h"
#include "ops/cuda/block_reduce.cuh"
#include "ops/kernels/loss.h"
#include "ops/loss_rules.h"

namespace aimass::gpu {
namespace {

using loss_rules::Operands;
using loss_rules::operands;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 1024;  // of the pointwise kernels; also the partials' count bound

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < kMaxBlocks ? b : kMaxBlocks);
}

template <LossKind K, typename T>
__global__ void pointwise_loss_kernel(Operands<T> a, int64_t n, T* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = loss_rules::loss_at<K>(a, i, loss_rules::aux_of<K>(a.x[i], a.t[i], false));
}

template <LossKind K, typename T>
__global__ void pointwise_loss_sum_kernel(Operands<T> a, int64_t n, double* partial) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    acc += double(loss_rules::loss_at<K>(a, i, loss_rules::aux_of<K>(a.x[i], a.t[i], false)));
  acc = block_reduce<double, false>(acc, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

template <typename T>
__global__ void finish_sum_kernel(const double* partial, int64_t count, double scale, T* out) {
  __shared__ double scratch[32];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_reduce<double, false>(acc, scratch);
  if (threadIdx.x == 0) *out = T(scale * acc);
}

template <LossKind K, typename T>
__global__ void pointwise_loss_backward_kernel(Operands<T> a, int64_t n, const T* g, int64_t g_step, T scale, T* gx,
                                               T* gt) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    T dx, dt;
    loss_rules::derivatives_at<K>(a, i, loss_rules::aux_of<K>(a.x[i], a.t[i], true), dx, dt);
    const T s = scale * g[i * g_step];
    if (gx) gx[i] = s * dx;
    if (gt) gt[i] = s * dt;
  }
}

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// ---- distillation

// The row statistics of log_softmax(x * inv): its shift (the max) and log sum exp.
template <typename T>
__device__ void scaled_row_stats(const T* x, T inv, int64_t C, T* scratch, T& shift, T& log_sum) {
  T m = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const T v = x[c] * inv;
    m = (v > m || v != v) ? v : m;
  }
  shift = block_reduce<T, true>(m, scratch);
  if (isinf(shift)) shift = shift > 0 ? shift : T(0);  // an all -inf row stays NaN
  T s = 0;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += exp(x[c] * inv - shift);
  log_sum = ::log(block_reduce<T, false>(s, scratch));
}

// loss != null: the forward; else the backward into gs / gt (each may be null).
template <typename T>
__global__ void distillation_kernel(const T* student, const T* teacher, T temperature, const T* grad, T* loss, T* gs,
                                    T* gt, int64_t R, int64_t C) {
  __shared__ T scratch[32];
  const T inv = T(1) / temperature;
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* s = student + r * C;
    const T* t = teacher + r * C;
    T s_shift, s_log_sum, t_shift, t_log_sum;
    scaled_row_stats(t, inv, C, scratch, t_shift, t_log_sum);
    scaled_row_stats(s, inv, C, scratch, s_shift, s_log_sum);
    T part = 0;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T lp = t[c] * inv - t_shift - t_log_sum, lq = s[c] * inv - s_shift - s_log_sum;
      const T p = exp(lp);
      if (p != T(0)) part += p * (lp - lq);
    }
    const T kl = block_reduce<T, false>(part, scratch);
    if (loss) {
      if (threadIdx.x == 0) loss[r] = temperature * temperature * kl;
      continue;
    }
    const T g = temperature * grad[r];
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      const T lp = t[c] * inv - t_shift - t_log_sum, lq = s[c] * inv - s_shift - s_log_sum;
      const T p = exp(lp);
      if (gs) gs[r * C + c] = g * (exp(lq) - p);
      if (gt) gt[r * C + c] = p == T(0) ? T(0) : g * p * (lp - lq - kl);
    }
  }
}

unsigned rows_grid(int64_t R) { return unsigned(R < 65535 ? R : 65535); }

template <typename T>
void launch_distillation(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& grad,
                         const Tensor& loss, const Tensor& gs, const Tensor& gt) {
  const int64_t R = student.shape()[0], C = student.shape()[1];
  distillation_kernel<T><<<rows_grid(R), kThreads>>>(student.data<T>(), teacher.data<T>(), T(temperature),
                                                     ptr_or_null<T>(grad), ptr_or_null<T>(loss), ptr_or_null<T>(gs),
                                                     ptr_or_null<T>(gt), R, C);
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(pointwise_loss)(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                                   const Tensor& pos_weight, double param, bool reduce, double scale,
                                   const Tensor& out) {
  const int64_t n = input.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(input.device().index, "pointwise_loss");
  const unsigned blocks = gpu::blocks_for(n);
  Tensor partial = reduce ? Tensor::empty({int64_t(blocks)}, DType::Float64, input.device()) : Tensor();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const gpu::Operands<T> a = gpu::operands<T>(input, target, weight, pos_weight, param);
    loss_rules::visit_kind(kind, [&]<LossKind K>() {
      if (!reduce) {
        gpu::pointwise_loss_kernel<K, T><<<blocks, gpu::kThreads>>>(a, n, out.data<T>());
      } else {
        gpu::pointwise_loss_sum_kernel<K, T><<<blocks, gpu::kThreads>>>(a, n, partial.data<double>());
        gpu::finish_sum_kernel<T><<<1, gpu::kThreads>>>(partial.data<double>(), blocks, scale, out.data<T>());
      }
    });
  };
  if (input.dtype() == DType::Float64) run(double());
  else run(float());
  gpu::check_launch("pointwise_loss");
}

AIMASS_CUDA_KERNEL(pointwise_loss_backward)(LossKind kind, const Tensor& input, const Tensor& target,
                                            const Tensor& weight, const Tensor& pos_weight, double param,
                                            const Tensor& grad, double scale, const Tensor& grad_input,
                                            const Tensor& grad_target) {
  const int64_t n = input.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(input.device().index, "pointwise_loss_backward");
  const int64_t g_step = grad.numel() == n ? 1 : 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const gpu::Operands<T> a = gpu::operands<T>(input, target, weight, pos_weight, param);
    loss_rules::visit_kind(kind, [&]<LossKind K>() {
      gpu::pointwise_loss_backward_kernel<K, T><<<gpu::blocks_for(n), gpu::kThreads>>>(
          a, n, grad.data<T>(), g_step, T(scale), gpu::ptr_or_null<T>(grad_input), gpu::ptr_or_null<T>(grad_target));
    });
  };
  if (input.dtype() == DType::Float64) run(double());
  else run(float());
  gpu::check_launch("pointwise_loss_backward");
}

AIMASS_CUDA_KERNEL(distillation)(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& loss) {
  if (student.shape()[0] == 0) return;
  gpu::DeviceGuard guard(student.device().index, "distillation");
  if (student.dtype() == DType::Float64)
    gpu::launch_distillation<double>(student, teacher, temperature, Tensor(), loss, Tensor(), Tensor());
  else gpu::launch_distillation<float>(student, teacher, temperature, Tensor(), loss, Tensor(), Tensor());
  gpu::check_launch("distillation");
}

AIMASS_CUDA_KERNEL(distillation_backward)(const Tensor& student, const Tensor& teacher, double temperature,
                                          const Tensor& grad_loss, const Tensor& grad_student,
                                          const Tensor& grad_teacher) {
  if (student.shape()[0] == 0) return;
  gpu::DeviceGuard guard(student.device().index, "distillation_backward");
  if (student.dtype() == DType::Float64)
    gpu::launch_distillation<double>(student, teacher, temperature, grad_loss, Tensor(), grad_student, grad_teacher);
  else gpu::launch_distillation<float>(student, teacher, temperature, grad_loss, Tensor(), grad_student, grad_teacher);
  gpu::check_launch("distillation_backward");
}

}  // namespace aimass
