#include "ops/nn.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/reduce.h"
#include "ops/kernels/softmax.h"
#include "ops/reduce.h"
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

Reduction parse_reduction(const std::string& name, const char* op, bool allow_batchmean) {
  if (name == "none") return Reduction::None;
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (allow_batchmean && name == "batchmean") return Reduction::BatchMean;
  throw ValueError(str_cat(op, ": reduction must be ",
                           allow_batchmean ? "'none', 'mean', 'sum' or 'batchmean'" : "'none', 'mean' or 'sum'",
                           ", got '", name, "'"));
}

namespace {

// Throws IndexError naming the first class index outside [0, C) that is not ignore_index.
// One reduction (and one device sync) when all are valid.
void check_class_indices(const Tensor& target, int64_t C, int64_t ignore_index) {
  if (target.numel() == 0) return;
  Tensor in_range = binary(BinaryOp::LogicalAnd, binary(BinaryOp::Ge, target, Scalar::from_int(0)),
                           binary(BinaryOp::Lt, target, Scalar::from_int(C)));
  Tensor bad = binary(BinaryOp::LogicalAnd, unary(UnaryOp::LogicalNot, in_range),
                      binary(BinaryOp::Ne, target, Scalar::from_int(ignore_index)));
  if (!item(reduce(ReduceOp::Any, bad, std::nullopt, false)).i) return;
  Tensor host = contiguous(to_device(target, Device()));
  const int64_t* t = host.data<int64_t>();
  for (int64_t n = 0; n < host.numel(); ++n)
    AM_CHECK(t[n] == ignore_index || (t[n] >= 0 && t[n] < C), IndexError, "cross_entropy: target ", t[n],
             " (sample ", n, ") is out of bounds for ", C, " classes");
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing, CrossEntropySaved* saved) {
  const char* op = "cross_entropy";
  AM_CHECK(is_floating(logits.dtype()), TypeError, op, ": logits must be a floating tensor, got ", logits.describe());
  AM_CHECK(logits.dim() == 1 || logits.dim() == 2, ValueError, op, ": logits must be (N, C) or (C,), got ",
           logits.describe());
  AM_CHECK(reduction != Reduction::BatchMean, ValueError, op, ": reduction 'batchmean' is only for kl_div");
  AM_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, ValueError, op,
           ": label_smoothing must be in [0, 1], got ", label_smoothing);
  const bool batched = logits.dim() == 2;
  const int64_t C = logits.shape().back(), N = batched ? logits.shape()[0] : 1;
  AM_CHECK(C > 0, ValueError, op, ": logits ", logits.describe(), " have no classes");
  AM_CHECK(target.device() == logits.device(), ValueError, op, ": target ", target.describe(),
           " is not on the device of logits ", logits.describe());
  const DType compute = logits.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  const bool soft = is_floating(target.dtype());
  Tensor t;
  if (soft) {
    AM_CHECK(target.shape() == logits.shape(), ValueError, op, ": target probabilities ", target.describe(),
             " must have the shape of logits ", logits.describe());
    t = contiguous(reshape(to_dtype(target, compute), {N, C}));
  } else {
    AM_CHECK(is_integral(target.dtype()), TypeError, op, ": target must be integer class indices or floating ",
             "probabilities, got ", target.describe());
    Shape want = batched ? Shape{N} : Shape{};
    AM_CHECK(target.shape() == want, ValueError, op, ": target class indices ", target.describe(),
             " do not match logits ", logits.describe(), " (expected shape (", batched ? str_cat(N, ",") : "", "))");
    t = contiguous(reshape(to_dtype(target, DType::Int64), {N}));
    check_class_indices(t, C, ignore_index);
  }
  Tensor w;
  if (weight.defined()) {
    AM_CHECK(is_floating(weight.dtype()), TypeError, op, ": weight must be a floating tensor, got ",
             weight.describe());
    AM_CHECK(weight.shape() == Shape{C}, ValueError, op, ": weight ", weight.describe(), " must have shape (", C,
             ",) for logits ", logits.describe());
    AM_CHECK(weight.device() == logits.device(), ValueError, op, ": weight ", weight.describe(),
             " is not on the device of logits ", logits.describe());
    w = contiguous(to_dtype(weight, compute));
  }
  Tensor x = contiguous(reshape(to_dtype(logits, compute), {N, C}));
  Tensor log_probs = Tensor::empty({N, C}, compute, logits.device());
  Tensor loss = Tensor::empty({N}, compute, logits.device());
  Tensor sample_weight = Tensor::empty({N}, compute, logits.device());
  if (N) cross_entropy_kernel.on(logits.device())(x, t, w, label_smoothing, ignore_index, loss, sample_weight, log_probs);

  Tensor out, denominator;
  switch (reduction) {
    case Reduction::None: out = batched ? loss : reshape(loss, {}); break;
    case Reduction::Sum: out = reduce(ReduceOp::Sum, loss, std::nullopt, false); break;
    case Reduction::Mean:
    case Reduction::BatchMean:  // rejected above
      // NaN when no target counts (all ignored, zero weights or N == 0), as PyTorch.
      denominator = reduce(ReduceOp::Sum, sample_weight, std::nullopt, false);
      out = binary(BinaryOp::Div, reduce(ReduceOp::Sum, loss, std::nullopt, false), denominator);
      break;
  }
  if (saved) {
    saved->log_probs = log_probs;
    saved->target = t;
    saved->weight = w;
    saved->denominator = denominator;
    saved->logits_shape = logits.shape();
    saved->logits_dtype = logits.dtype();
    saved->label_smoothing = label_smoothing;
    saved->ignore_index = ignore_index;
    saved->reduction = reduction;
  }
  return to_dtype(out, logits.dtype());
}

Tensor cross_entropy_backward(const Tensor& grad, const CrossEntropySaved& saved) {
  const Tensor& lp = saved.log_probs;
  const int64_t N = lp.shape()[0];
  Tensor g = to_dtype(grad, lp.dtype());
  if (saved.reduction == Reduction::Mean) g = binary(BinaryOp::Div, g, saved.denominator);
  if (saved.reduction == Reduction::None) g = reshape(g, {N});
  else g = expand(reshape(g, {1}), {N});
  g = contiguous(g);
  Tensor gi = Tensor::empty(lp.shape(), lp.dtype(), lp.device());
  if (gi.numel())
    cross_entropy_backward_kernel.on(lp.device())(lp, saved.target, saved.weight, saved.label_smoothing,
                                                  saved.ignore_index, g, gi);
  return to_dtype(reshape(gi, saved.logits_shape), saved.logits_dtype);
}

}  // namespace aimass
