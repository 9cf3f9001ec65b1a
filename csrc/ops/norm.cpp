#include "ops/norm.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/norm.h"
#include "ops/shape.h"

namespace aimass {

namespace {

DType compute_dtype(const Tensor& x) { return x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32; }

// A weight / bias / running statistic: undefined, or floating of `shape` on x's device.
void check_param(const Tensor& p, const char* what, const Shape& shape, const Tensor& x, const char* op) {
  if (!p.defined()) return;
  AM_CHECK(is_floating(p.dtype()), TypeError, op, ": ", what, " must be a floating tensor, got ", p.describe());
  AM_CHECK(p.shape() == shape, ValueError, op, ": ", what, " ", p.describe(), " must have shape ", shape,
           " for input ", x.describe());
  AM_CHECK(p.device() == x.device(), ValueError, op, ": ", what, " ", p.describe(), " is not on the device of input ",
           x.describe());
}

// p as contiguous (n,) in dtype, or undefined.
Tensor flat_param(const Tensor& p, int64_t n, DType dtype) {
  return p.defined() ? contiguous(reshape(to_dtype(p, dtype), {n})) : Tensor();
}

Tensor grad_like(const Tensor& g, const Tensor& like) {
  return to_dtype(reshape(g, like.shape()), like.dtype());
}

// The S of a batch-norm input seen as (N, C, S).
int64_t spatial_size(const Tensor& x) {
  int64_t S = 1;
  for (int64_t d = 2; d < x.dim(); ++d) S *= x.shape()[d];
  return S;
}

}  // namespace

// ------------------------------------------------------------------ layer norm

int64_t layer_norm_dims(const Tensor& x, const Shape& normalized_shape) {
  const int64_t k = int64_t(normalized_shape.size());
  AM_CHECK(k >= 1 && k <= x.dim() && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape, ValueError,
           "layer_norm: normalized_shape ", normalized_shape, " is not the trailing shape of input ", x.describe());
  return k;
}

Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps,
                  Tensor* mean, Tensor* rstd) {
  const char* op = "layer_norm";
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": needs a floating input, got ", x.describe());
  AM_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(), ValueError, op, ": cannot normalise over the last ",
           normalized_dims, " axes of input ", x.describe());
  const Shape trailing(x.shape().end() - normalized_dims, x.shape().end());
  check_param(weight, "weight", trailing, x, op);
  check_param(bias, "bias", trailing, x, op);
  int64_t D = 1;
  for (int64_t d : trailing) D *= d;
  const int64_t R = D ? x.numel() / D : 0;
  const DType compute = compute_dtype(x);
  Tensor rows = contiguous(reshape(to_dtype(x, compute), {R, D}));
  Tensor y = Tensor::empty({R, D}, compute, x.device());
  Tensor m = Tensor::empty({R}, compute, x.device()), r = Tensor::empty({R}, compute, x.device());
  if (R * D != 0)
    layer_norm_kernel.on(x.device())(rows, flat_param(weight, D, compute), flat_param(bias, D, compute), eps, y, m, r);
  if (mean) *mean = m;
  if (rstd) *rstd = r;
  return to_dtype(reshape(y, x.shape()), x.dtype());
}

NormGrads layer_norm_backward(const Tensor& grad_y, const Tensor& x, int64_t normalized_dims, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool want_weight, bool want_bias) {
  const DType compute = mean.dtype();
  int64_t D = 1;
  for (int64_t d = x.dim() - normalized_dims; d < x.dim(); ++d) D *= x.shape()[d];
  const int64_t R = mean.numel();
  Tensor rows = contiguous(reshape(to_dtype(x, compute), {R, D}));
  Tensor g = contiguous(reshape(to_dtype(grad_y, compute), {R, D}));
  Tensor gx = Tensor::empty({R, D}, compute, x.device());
  Tensor gw = want_weight ? Tensor::empty({D}, compute, x.device()) : Tensor();
  Tensor gb = want_bias ? Tensor::empty({D}, compute, x.device()) : Tensor();
  if (R * D != 0) {
    layer_norm_backward_kernel.on(x.device())(g, rows, flat_param(weight, D, compute), mean, rstd, gx, gw, gb);
  } else {  // nothing to sum over
    if (gw.defined()) fill_(gw, Scalar::from_int(0));
    if (gb.defined()) fill_(gb, Scalar::from_int(0));
  }
  return {grad_like(gx, x), gw, gb};
}

// ------------------------------------------------------------------ batch norm

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps, Tensor* mean, Tensor* invstd) {
  const char* op = "batch_norm";
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": needs a floating input, got ", x.describe());
  AM_CHECK(x.dim() >= 2, ValueError, op, ": input must be (N, C) or (N, C, *spatial), got ", x.describe());
  AM_CHECK(running_mean.defined() == running_var.defined(), ValueError, op,
           ": running_mean and running_var must be given together, got ", running_mean.describe(), " and ",
           running_var.describe());
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_size(x);
  const Shape channels{C};
  check_param(weight, "weight", channels, x, op);
  check_param(bias, "bias", channels, x, op);
  check_param(running_mean, "running_mean", channels, x, op);
  check_param(running_var, "running_var", channels, x, op);
  const bool batch_stats = training || !running_mean.defined();
  AM_CHECK(!batch_stats || N * S != 1, ValueError, op, ": expected more than 1 value per channel when training, got ",
           "input ", x.describe());
  const DType compute = compute_dtype(x);
  Tensor planes = contiguous(reshape(to_dtype(x, compute), {N, C, S}));
  Tensor y = Tensor::empty({N, C, S}, compute, x.device());
  Tensor m, is;
  if (batch_stats) {
    m = Tensor::empty({C}, compute, x.device());
    Tensor var = Tensor::empty({C}, compute, x.device());
    if (N * S == 0) {  // an empty batch: no statistics, and the running ones stay as they are
      fill_(m, Scalar::from_float(0));
      fill_(var, Scalar::from_float(1));
    } else if (C) {
      batch_norm_stats_kernel.on(x.device())(planes, m, var);
      if (running_mean.defined()) {
        auto blend = [&](const Tensor& running, const Tensor& batch) {
          Tensor r = to_dtype(running, compute);
          Tensor updated = binary(BinaryOp::Add, binary(BinaryOp::Mul, r, Scalar::from_float(1 - momentum)),
                                  binary(BinaryOp::Mul, batch, Scalar::from_float(momentum)));
          copy_into(running, updated, op);
        };
        const double M = double(N * S);
        blend(running_mean, m);
        blend(running_var, binary(BinaryOp::Mul, var, Scalar::from_float(M / (M - 1))));
      }
    }
    is = unary(UnaryOp::Rsqrt, binary(BinaryOp::Add, var, Scalar::from_float(eps)));
  } else {
    m = clone(to_dtype(running_mean, compute));  // a copy: running_mean may change before the backward
    is = unary(UnaryOp::Rsqrt, binary(BinaryOp::Add, to_dtype(running_var, compute), Scalar::from_float(eps)));
  }
  if (y.numel())
    batch_norm_apply_kernel.on(x.device())(planes, m, is, flat_param(weight, C, compute), flat_param(bias, C, compute), y);
  if (mean) *mean = m;
  if (invstd) *invstd = is;
  return to_dtype(reshape(y, x.shape()), x.dtype());
}

NormGrads batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, bool batch_statistics, bool want_weight, bool want_bias) {
  const DType compute = mean.dtype();
  const int64_t N = x.shape()[0], C = x.shape()[1], S = spatial_size(x);
  Tensor planes = contiguous(reshape(to_dtype(x, compute), {N, C, S}));
  Tensor g = contiguous(reshape(to_dtype(grad_y, compute), {N, C, S}));
  Tensor gx = Tensor::empty({N, C, S}, compute, x.device());
  Tensor gw = want_weight ? Tensor::empty({C}, compute, x.device()) : Tensor();
  Tensor gb = want_bias ? Tensor::empty({C}, compute, x.device()) : Tensor();
  if (gx.numel()) {
    batch_norm_backward_kernel.on(x.device())(g, planes, mean, invstd, flat_param(weight, C, compute),
                                              batch_statistics, gx, gw, gb);
  } else {
    if (gw.defined()) fill_(gw, Scalar::from_int(0));
    if (gb.defined()) fill_(gb, Scalar::from_int(0));
  }
  return {grad_like(gx, x), gw, gb};
}

}  // namespace aimass
