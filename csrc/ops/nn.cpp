#include "ops/nn.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels.h"
#include "ops/shape.h"

namespace aimass {

namespace {

// x with `axis` moved last and laid out as contiguous (R, C) rows in float32 / float64,
// and how to put a result of that layout back.
struct Rows {
  Tensor rows;
  std::vector<int64_t> order;  // the permutation that moved axis last
  Shape permuted_shape;
};

Rows as_rows(const Tensor& x, int64_t axis, const char* op) {
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": needs a floating tensor, got ", x.describe());
  int64_t a = normalize_axis(axis, x.dim(), op);
  Rows r;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d != a) r.order.push_back(d);
  if (x.dim() > 0) r.order.push_back(a);
  Tensor p = permute(x, r.order);
  r.permuted_shape = p.shape();
  DType compute = x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor c = contiguous(to_dtype(p, compute));
  int64_t C = x.dim() > 0 ? x.shape()[a] : 1;
  r.rows = reshape(c, {C ? c.numel() / C : 0, C});
  return r;
}

Tensor from_rows(const Tensor& rows, const Rows& layout, DType dtype) {
  std::vector<int64_t> inverse(layout.order.size());
  for (size_t i = 0; i < layout.order.size(); ++i) inverse[layout.order[i]] = int64_t(i);
  return contiguous(to_dtype(permute(reshape(rows, layout.permuted_shape), inverse), dtype));
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  Rows r = as_rows(x, axis, op);
  Tensor out = Tensor::empty(r.rows.shape(), r.rows.dtype(), x.device());
  if (out.numel()) softmax_kernel.on(x.device())(r.rows, out, log);
  return from_rows(out, r, x.dtype());
}

Tensor softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  AM_CHECK(y.shape() == grad_out.shape() && y.device() == grad_out.device(), ValueError, op, ": gradient ",
           grad_out.describe(), " does not match the result ", y.describe());
  Rows ry = as_rows(y, axis, op);
  Rows rg = as_rows(to_dtype(grad_out, y.dtype()), axis, op);
  Tensor gi = Tensor::empty(ry.rows.shape(), ry.rows.dtype(), y.device());
  if (gi.numel()) softmax_backward_kernel.on(y.device())(ry.rows, rg.rows, gi, log);
  return from_rows(gi, ry, y.dtype());
}

}  // namespace aimass
