#include "ops/activation.h"

#include "core/error.h"
#include "ops/convert.h"

namespace aimass {

namespace {

DType compute_dtype(const Tensor& x) { return x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32; }

}  // namespace

const char* activation_name(ActivationOp op) {
  switch (op) {
    case ActivationOp::Gelu: return "gelu";
    case ActivationOp::GeluTanh: return "gelu_tanh";
    case ActivationOp::Silu: return "silu";
    default: return "leaky_relu";
  }
}

Tensor activation(ActivationOp op, const Tensor& x, double param) {
  AM_CHECK(is_floating(x.dtype()), TypeError, activation_name(op), ": needs a floating tensor, got ", x.describe());
  Tensor in = contiguous(to_dtype(x, compute_dtype(x)));
  Tensor out = Tensor::empty(x.shape(), in.dtype(), x.device());
  if (out.numel()) activation_kernel.on(x.device())(op, in, out, param);
  return to_dtype(out, x.dtype());
}

Tensor activation_backward(ActivationOp op, const Tensor& x, const Tensor& grad, double param) {
  AM_CHECK(grad.shape() == x.shape() && grad.device() == x.device(), ValueError, activation_name(op),
           "_backward: gradient ", grad.describe(), " does not match the input ", x.describe());
  const DType compute = compute_dtype(x);
  Tensor in = contiguous(to_dtype(x, compute));
  Tensor g = contiguous(to_dtype(grad, compute));
  Tensor out = Tensor::empty(x.shape(), compute, x.device());
  if (out.numel()) activation_backward_kernel.on(x.device())(op, in, g, out, param);
  return to_dtype(out, x.dtype());
}

}  // namespace aimass
