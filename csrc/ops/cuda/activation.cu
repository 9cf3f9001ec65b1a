// GELU (exact and tanh), SiLU and leaky ReLU and their gradients over contiguous float32 /
// float64 ranges, by the element rules of ops/activation_ops.h (the CPU reference's).
#include "cuda/cuda_check.h"
#include "ops/activation_ops.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/kernels/activation.h"

namespace aimass::gpu {
namespace {

template <ActivationOp op, typename T>
__global__ void activation_kernel(const T* in, T* out, int64_t n, T param) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = activation_ops::activation<op>(in[i], param);
}

template <ActivationOp op, typename T>
__global__ void activation_backward_kernel(const T* x, const T* grad_out, T* grad_in, int64_t n, T param) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    grad_in[i] = grad_out[i] * activation_ops::activation_derivative<op>(x[i], param);
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(activation)(ActivationOp op, const Tensor& in, const Tensor& out, double param) {
  const int64_t n = in.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(in.device().index, "activation");
  gpu::by_dtype(in, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    activation_ops::visit_activation(op, [&](auto op_tag) {
      constexpr ActivationOp o = decltype(op_tag)::value;
      gpu::activation_kernel<o, T><<<gpu::grid_for(n), gpu::kBlockSize>>>(in.data<T>(), out.data<T>(), n, T(param));
    });
  });
  gpu::check_launch("activation");
}

AIMASS_CUDA_KERNEL(activation_backward)(ActivationOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_in,
                                        double param) {
  const int64_t n = x.numel();
  if (n == 0) return;
  gpu::DeviceGuard guard(x.device().index, "activation_backward");
  gpu::by_dtype(x, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    activation_ops::visit_activation(op, [&](auto op_tag) {
      constexpr ActivationOp o = decltype(op_tag)::value;
      gpu::activation_backward_kernel<o, T><<<gpu::grid_for(n), gpu::kBlockSize>>>(
          x.data<T>(), grad_out.data<T>(), grad_in.data<T>(), n, T(param));
    });
  });
  gpu::check_launch("activation_backward");
}

}  // namespace aimass
