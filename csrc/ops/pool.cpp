// The op layer of max_pool2d and avg_pool2d: checks, dtype widening, allocation; the kernels
// are in ops/cpu/pool.cpp and ops/cuda/pool.cu.
#include "ops/pool.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels/pool.h"

namespace aimass {

namespace {

DType compute_dtype(DType t) { return t == DType::Float64 ? DType::Float64 : DType::Float32; }

// Checks x and p; returns the output shape.
Shape check_pool2d(const Tensor& x, const Pool2dParams& p, const char* op) {
  AM_CHECK(x.dim() == 4, ValueError, op, ": input must be (N, C, H, W), got ", x.describe());
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": input must be a floating tensor, got ", x.describe());
  const std::string params = str_cat("kernel (", p.kernel_h, ", ", p.kernel_w, "), stride (", p.stride_h, ", ",
                                     p.stride_w, "), padding (", p.pad_h, ", ", p.pad_w, ")");
  AM_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1, ValueError, op,
           ": kernel and stride must be positive, got ", params);
  AM_CHECK(p.pad_h >= 0 && p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w, ValueError, op,
           ": padding must be non-negative and at most half the kernel, got ", params);
  const int64_t H = x.shape()[2], W = x.shape()[3];
  AM_CHECK(p.kernel_h <= H + 2 * p.pad_h && p.kernel_w <= W + 2 * p.pad_w, ValueError, op, ": kernel (", p.kernel_h,
           ", ", p.kernel_w, ") is larger than the padded input (", H + 2 * p.pad_h, ", ", W + 2 * p.pad_w, ") of ",
           x.describe());
  AM_CHECK(H >= 1 && W >= 1, ValueError, op, ": input ", x.describe(), " has an empty image");
  return {x.shape()[0], x.shape()[1], pool_output_size(H, p.kernel_h, p.stride_h, p.pad_h, p.ceil_mode),
          pool_output_size(W, p.kernel_w, p.stride_w, p.pad_w, p.ceil_mode)};
}

Tensor grad_input(const Tensor& grad_out, const Shape& x_shape, const char* op) {
  AM_CHECK(x_shape.size() == 4 && grad_out.dim() == 4 && grad_out.shape()[0] == x_shape[0] &&
               grad_out.shape()[1] == x_shape[1], ValueError, op, ": gradient ", grad_out.describe(),
           " does not match the input shape ", x_shape);
  return Tensor::empty(x_shape, compute_dtype(grad_out.dtype()), grad_out.device());
}

}  // namespace

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode) {
  const int64_t span = in + 2 * pad - kernel;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor* indices) {
  Shape shape = check_pool2d(x, p, "max_pool2d");
  const DType compute = compute_dtype(x.dtype());
  Tensor out = Tensor::empty(shape, compute, x.device());
  Tensor idx = Tensor::empty(shape, DType::Int64, x.device());
  if (out.numel()) max_pool2d_kernel.on(x.device())(contiguous(to_dtype(x, compute)), p, out, idx);
  if (indices) *indices = idx;
  return to_dtype(out, x.dtype());
}

Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p, const Shape& x_shape,
                           DType x_dtype) {
  AM_CHECK(indices.shape() == grad_out.shape() && indices.dtype() == DType::Int64, ValueError,
           "max_pool2d_backward: indices ", indices.describe(), " do not match the gradient ", grad_out.describe());
  const DType compute = compute_dtype(x_dtype);
  Tensor gx = grad_input(to_dtype(grad_out, compute), x_shape, "max_pool2d_backward");
  if (gx.numel() == 0) return to_dtype(gx, x_dtype);
  if (grad_out.numel() == 0) fill_(gx, Scalar::from_int(0));
  else max_pool2d_backward_kernel.on(gx.device())(contiguous(to_dtype(grad_out, compute)), contiguous(indices), p, gx);
  return to_dtype(gx, x_dtype);
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  Shape shape = check_pool2d(x, p, "avg_pool2d");
  const DType compute = compute_dtype(x.dtype());
  Tensor out = Tensor::empty(shape, compute, x.device());
  if (out.numel()) avg_pool2d_kernel.on(x.device())(contiguous(to_dtype(x, compute)), p, out);
  return to_dtype(out, x.dtype());
}

Tensor avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, const Shape& x_shape, DType x_dtype) {
  const DType compute = compute_dtype(x_dtype);
  Tensor gx = grad_input(to_dtype(grad_out, compute), x_shape, "avg_pool2d_backward");
  if (gx.numel() == 0) return to_dtype(gx, x_dtype);
  if (grad_out.numel() == 0) fill_(gx, Scalar::from_int(0));
  else avg_pool2d_backward_kernel.on(gx.device())(contiguous(to_dtype(grad_out, compute)), p, gx);
  return to_dtype(gx, x_dtype);
}

}  // namespace aimass
