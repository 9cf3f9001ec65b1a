// The op layer of conv2d: checks, dtype widening, allocation; the kernels are in
// ops/cpu/conv.cpp and ops/cuda/conv.cu.
#include "ops/conv.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels/conv.h"

namespace aimass {

namespace {

DType compute_dtype(DType t) { return t == DType::Float64 ? DType::Float64 : DType::Float32; }
Tensor as_compute(const Tensor& t) { return t.defined() ? contiguous(to_dtype(t, compute_dtype(t.dtype()))) : t; }

std::string params_str(const Conv2dParams& p) {
  return str_cat("stride (", p.stride_h, ", ", p.stride_w, "), padding (top ", p.pad_top, ", bottom ", p.pad_bottom,
                 ", left ", p.pad_left, ", right ", p.pad_right, "), dilation (", p.dilation_h, ", ", p.dilation_w,
                 "), groups ", p.groups);
}

// Checks x, w, bias and p against each other; returns the output shape.
Shape check_conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  const char* op = "conv2d";
  AM_CHECK(x.dim() == 4, ValueError, op, ": input must be (N, C, H, W), got ", x.describe());
  AM_CHECK(w.dim() == 4, ValueError, op, ": weight must be (O, C/groups, KH, KW), got ", w.describe());
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": input must be a floating tensor, got ", x.describe());
  AM_CHECK(w.dtype() == x.dtype(), TypeError, op, ": weight ", w.describe(), " must have the dtype of the input ",
           x.describe());
  AM_CHECK(w.device() == x.device(), ValueError, op, ": weight ", w.describe(), " is not on the device of the input ",
           x.describe());
  AM_CHECK(p.stride_h >= 1 && p.stride_w >= 1 && p.dilation_h >= 1 && p.dilation_w >= 1 && p.groups >= 1,
           ValueError, op, ": stride, dilation and groups must be positive, got ", params_str(p));
  AM_CHECK(p.pad_top >= 0 && p.pad_bottom >= 0 && p.pad_left >= 0 && p.pad_right >= 0, ValueError, op,
           ": padding must be non-negative, got ", params_str(p));
  const int64_t C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t O = w.shape()[0], Cg = w.shape()[1], KH = w.shape()[2], KW = w.shape()[3];
  AM_CHECK(O % p.groups == 0, ValueError, op, ": weight ", w.describe(), " has ", O,
           " output channels, not divisible by groups = ", p.groups);
  AM_CHECK(Cg * p.groups == C, ValueError, op, ": input ", x.describe(), " has ", C, " channels but weight ",
           w.describe(), " with groups = ", p.groups, " expects ", Cg * p.groups);
  AM_CHECK(KH >= 1 && KW >= 1, ValueError, op, ": weight ", w.describe(), " has an empty kernel");
  AM_CHECK(C >= 1 && H >= 1 && W >= 1, ValueError, op, ": input ", x.describe(),
           " has no channels or an empty image");
  const int64_t eff_h = (KH - 1) * p.dilation_h + 1, eff_w = (KW - 1) * p.dilation_w + 1;
  const int64_t in_h = H + p.pad_top + p.pad_bottom, in_w = W + p.pad_left + p.pad_right;
  AM_CHECK(eff_h <= in_h && eff_w <= in_w, ValueError, op, ": kernel (", eff_h, ", ", eff_w,
           ") (dilated) is larger than the padded input (", in_h, ", ", in_w, ") of ", x.describe(), ", weight ",
           w.describe(), ", ", params_str(p));
  if (bias.defined()) {
    AM_CHECK(bias.shape() == Shape{O}, ValueError, op, ": bias ", bias.describe(), " must have shape (", O,
             ",) for weight ", w.describe());
    AM_CHECK(bias.dtype() == x.dtype(), TypeError, op, ": bias ", bias.describe(),
             " must have the dtype of the input ", x.describe());
    AM_CHECK(bias.device() == x.device(), ValueError, op, ": bias ", bias.describe(),
             " is not on the device of the input ", x.describe());
  }
  return {x.shape()[0], O, (in_h - eff_h) / p.stride_h + 1, (in_w - eff_w) / p.stride_w + 1};
}

}  // namespace

std::pair<int64_t, int64_t> same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  AM_CHECK(in >= 0 && kernel >= 1 && stride >= 1 && dilation >= 1, ValueError,
           "same_padding: needs in >= 0 and positive kernel, stride and dilation, got in ", in, ", kernel ", kernel,
           ", stride ", stride, ", dilation ", dilation);
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
  return {total / 2, total - total / 2};
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  Shape out_shape = check_conv2d(x, w, bias, p);
  const DType compute = compute_dtype(x.dtype());
  Tensor out = Tensor::empty(out_shape, compute, x.device());
  if (out.numel()) conv2d_kernel.on(x.device())(as_compute(x), as_compute(w), as_compute(bias), p, out);
  return to_dtype(out, x.dtype());
}

Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                            bool need_x, bool need_w, bool need_bias) {
  Shape out_shape = check_conv2d(x, w, Tensor(), p);
  AM_CHECK(grad_out.shape() == out_shape && grad_out.device() == x.device(), ValueError,
           "conv2d_backward: gradient ", grad_out.describe(), " does not match the output shape ", out_shape);
  const DType compute = compute_dtype(x.dtype());
  const Device dev = x.device();
  Conv2dGrads g;
  if (need_x) g.x = Tensor::empty(x.shape(), compute, dev);
  if (need_w) g.w = Tensor::empty(w.shape(), compute, dev);
  if (need_bias) g.bias = Tensor::empty({w.shape()[0]}, compute, dev);
  if (!need_x && !need_w && !need_bias) return g;
  if (grad_out.numel() == 0) {
    // Nothing flows: an empty batch (or no output pixels) gives zero weight and bias gradients.
    for (Tensor* t : {&g.x, &g.w, &g.bias})
      if (t->defined()) fill_(*t, Scalar::from_int(0));
  } else {
    conv2d_backward_kernel.on(dev)(as_compute(to_dtype(grad_out, x.dtype())), as_compute(x), as_compute(w), p, g.x,
                                   g.w, g.bias);
  }
  if (g.x.defined()) g.x = to_dtype(g.x, x.dtype());
  if (g.w.defined()) g.w = to_dtype(g.w, w.dtype());
  if (g.bias.defined()) g.bias = to_dtype(g.bias, w.dtype());
  return g;
}

}  // namespace aimass
