#include "ops/linear.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/shape.h"

namespace aimass {

namespace {

// The operands as the kernels take them: x (M, K), w (N, K), bias (N,) or undefined, all
// contiguous in the compute dtype.
struct Operands {
  Tensor x, w, bias;
  DType dtype, compute;  // the result's dtype and the one the kernel runs in
  Shape out_shape;       // (..., N)
};

Operands prepare(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const char* op = "linear";
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": input must be a floating tensor, got ", x.describe());
  AM_CHECK(is_floating(w.dtype()), TypeError, op, ": weight must be a floating tensor, got ", w.describe());
  AM_CHECK(w.dim() == 2, ValueError, op, ": weight must be 2-D (out_features, in_features), got ", w.describe());
  AM_CHECK(x.dim() >= 1, ValueError, op, ": input must have a feature axis, got ", x.describe());
  AM_CHECK(x.shape().back() == w.shape()[1], ValueError, op, ": input ", x.describe(), " has ", x.shape().back(),
           " features but weight ", w.describe(), " expects ", w.shape()[1]);
  AM_CHECK(w.device() == x.device(), ValueError, op, ": weight ", w.describe(), " is not on the device of input ",
           x.describe());
  const int64_t N = w.shape()[0], K = w.shape()[1];
  Operands o;
  o.dtype = promote_types(x.dtype(), w.dtype());
  if (bias.defined()) {
    AM_CHECK(is_floating(bias.dtype()), TypeError, op, ": bias must be a floating tensor, got ", bias.describe());
    AM_CHECK(bias.shape() == Shape{N}, ValueError, op, ": bias ", bias.describe(), " must have shape (", N,
             ",) for weight ", w.describe());
    AM_CHECK(bias.device() == x.device(), ValueError, op, ": bias ", bias.describe(),
             " is not on the device of input ", x.describe());
    o.dtype = promote_types(o.dtype, bias.dtype());
  }
  o.compute = o.dtype == DType::Float64 ? DType::Float64 : DType::Float32;
  const int64_t M = K ? x.numel() / K : shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  o.x = contiguous(reshape(to_dtype(x, o.compute), {M, K}));
  o.w = contiguous(to_dtype(w, o.compute));
  if (bias.defined()) o.bias = contiguous(to_dtype(bias, o.compute));
  o.out_shape = x.shape();
  o.out_shape.back() = N;
  return o;
}

}  // namespace

LinearActivation parse_linear_activation(const std::string& name) {
  if (name == "none") return LinearActivation::None;
  if (name == "relu") return LinearActivation::Relu;
  throw ValueError(str_cat("linear: activation must be None or 'relu', got '", name, "'"));
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act) {
  const Operands o = prepare(x, w, bias);
  const int64_t M = o.x.shape()[0], N = o.w.shape()[0];
  Tensor out = Tensor::empty({M, N}, o.compute, x.device());
  if (M && N) linear_kernel.on(x.device())(o.x, o.w, o.bias, act, out);
  return to_dtype(reshape(out, o.out_shape), o.dtype);
}

LinearGrads linear_backward(const Tensor& grad, const Tensor& out, const Tensor& x, const Tensor& w,
                            const Tensor& bias, LinearActivation act, bool need_x, bool need_w, bool need_bias) {
  const Operands o = prepare(x, w, bias);
  const int64_t M = o.x.shape()[0], K = o.x.shape()[1], N = o.w.shape()[0];
  need_bias &= bias.defined();
  LinearGrads g;
  Tensor gx = need_x ? Tensor::empty({M, K}, o.compute, x.device()) : Tensor();
  Tensor gw = need_w ? Tensor::empty({N, K}, o.compute, x.device()) : Tensor();
  Tensor gb = need_bias ? Tensor::empty({N}, o.compute, x.device()) : Tensor();
  if (need_x || need_w || need_bias) {
    Tensor g2 = contiguous(reshape(to_dtype(grad, o.compute), {M, N}));
    Tensor out2 = act == LinearActivation::Relu ? contiguous(reshape(to_dtype(out, o.compute), {M, N})) : Tensor();
    linear_backward_kernel.on(x.device())(g2, out2, o.x, o.w, act, gx, gw, gb);
  }
  if (gx.defined()) g.x = to_dtype(reshape(gx, x.shape()), x.dtype());
  if (gw.defined()) g.w = to_dtype(gw, w.dtype());
  if (gb.defined()) g.bias = to_dtype(gb, bias.dtype());
  return g;
}

}  // namespace aimass
