// GELU (exact and tanh), SiLU and leaky ReLU, and their gradients, over contiguous float32 /
// float64 ranges: chunks of the SIMD table's activation loops, in parallel.
#include "core/parallel.h"
#include "ops/cpu/simd/simd.h"
#include "ops/kernels/activation.h"

namespace aimass::cpu {

void activation(ActivationOp op, const Tensor& in, const Tensor& out, double param) {
  const int64_t n = in.numel();
  parallel_for(0, n, kComputeGrain, [&](int64_t i0, int64_t i1) {
    if (in.dtype() == DType::Float64)
      simd::kernels().activation_f64(op, in.data<double>() + i0, out.data<double>() + i0, i1 - i0, param);
    else
      simd::kernels().activation_f32(op, in.data<float>() + i0, out.data<float>() + i0, i1 - i0, float(param));
  });
}

void activation_backward(ActivationOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_in,
                         double param) {
  const int64_t n = x.numel();
  parallel_for(0, n, kComputeGrain, [&](int64_t i0, int64_t i1) {
    if (x.dtype() == DType::Float64)
      simd::kernels().activation_backward_f64(op, x.data<double>() + i0, grad_out.data<double>() + i0,
                                              grad_in.data<double>() + i0, i1 - i0, param);
    else
      simd::kernels().activation_backward_f32(op, x.data<float>() + i0, grad_out.data<float>() + i0,
                                              grad_in.data<float>() + i0, i1 - i0, float(param));
  });
}

}  // namespace aimass::cpu
