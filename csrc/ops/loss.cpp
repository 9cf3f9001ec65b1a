#include "ops/loss.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace aimass {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

DType compute_dtype(const Tensor& x) { return x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32; }

// True when `from` broadcasts to exactly `to` (to is not stretched by it).
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t d = 0; d < from.size(); ++d)
    if (from[d] != 1 && from[d] != to[lead + d]) return false;
  return true;
}

// The operands flattened to (n,), contiguous, in the compute dtype.
struct Flat {
  Tensor x, t, w, pw;
  int64_t n = 0;
};

Tensor flat_operand(const Tensor& v, const Tensor& input, DType compute, const char* op, const char* what) {
  if (!v.defined()) return v;
  AM_CHECK(is_floating(v.dtype()), TypeError, op, ": ", what, " must be a floating tensor, got ", v.describe());
  AM_CHECK(v.device() == input.device(), ValueError, op, ": ", what, " ", v.describe(),
           " is not on the device of input ", input.describe());
  AM_CHECK(broadcasts_to(v.shape(), input.shape()), ValueError, op, ": ", what, " ", v.describe(),
           " does not broadcast to input ", input.describe());
  return contiguous(reshape(expand(to_dtype(v, compute), input.shape(), op), {input.numel()}));
}

Flat flatten_operands(const PointwiseLoss& loss, const Tensor& input, const Tensor& target, const Tensor& weight,
                      const Tensor& pos_weight) {
  const char* op = loss.name;
  AM_CHECK(is_floating(input.dtype()), TypeError, op, ": input must be a floating tensor, got ", input.describe());
  AM_CHECK(is_floating(target.dtype()), TypeError, op, ": target must be a floating tensor, got ", target.describe());
  AM_CHECK(target.shape() == input.shape(), ValueError, op, ": input ", input.describe(), " and target ",
           target.describe(), " must have the same shape");
  AM_CHECK(target.device() == input.device(), ValueError, op, ": target ", target.describe(),
           " is not on the device of input ", input.describe());
  AM_CHECK(loss.reduction != Reduction::BatchMean || loss.kind == LossKind::KlDiv ||
               loss.kind == LossKind::KlDivLogTarget,
           ValueError, op, ": reduction 'batchmean' is only for kl_div");
  AM_CHECK(loss.kind != LossKind::Huber || loss.param > 0, ValueError, op, ": delta must be positive, got ",
           loss.param);
  const DType compute = compute_dtype(input);
  Flat f;
  f.n = input.numel();
  f.x = contiguous(reshape(to_dtype(input, compute), {f.n}));
  f.t = contiguous(reshape(to_dtype(target, compute), {f.n}));
  f.w = flat_operand(weight, input, compute, op, "weight");
  f.pw = flat_operand(pos_weight, input, compute, op, "pos_weight");
  return f;
}

// The factor the sum is multiplied by: 1 / count for the means.
double reduction_scale(Reduction reduction, const Tensor& input) {
  switch (reduction) {
    case Reduction::Mean: return input.numel() ? 1.0 / double(input.numel()) : kNaN;
    case Reduction::BatchMean: {
      const int64_t batch = input.dim() ? input.shape()[0] : 1;
      return batch ? 1.0 / double(batch) : kNaN;
    }
    default: return 1.0;
  }
}

}  // namespace

Tensor pointwise_loss(const PointwiseLoss& loss, const Tensor& input, const Tensor& target, const Tensor& weight,
                      const Tensor& pos_weight) {
  const Flat f = flatten_operands(loss, input, target, weight, pos_weight);
  const DType compute = f.x.dtype();
  const bool reduce = loss.reduction != Reduction::None;
  const double scale = reduction_scale(loss.reduction, input);
  Tensor out;
  if (!reduce) {
    out = Tensor::empty({f.n}, compute, input.device());
    if (f.n) pointwise_loss_kernel.on(input.device())(loss.kind, f.x, f.t, f.w, f.pw, loss.param, false, 1.0, out);
    out = reshape(out, input.shape());
  } else if (f.n == 0) {
    out = full({}, Scalar::from_float(loss.reduction == Reduction::Sum ? 0.0 : kNaN), compute, input.device());
  } else {
    out = Tensor::empty({}, compute, input.device());
    pointwise_loss_kernel.on(input.device())(loss.kind, f.x, f.t, f.w, f.pw, loss.param, true, scale, out);
  }
  return to_dtype(out, input.dtype());
}

std::pair<Tensor, Tensor> pointwise_loss_backward(const PointwiseLoss& loss, const Tensor& grad, const Tensor& input,
                                                  const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                                                  bool need_input, bool need_target) {
  const Flat f = flatten_operands(loss, input, target, weight, pos_weight);
  const DType compute = f.x.dtype();
  need_target &= loss.kind != LossKind::BceWithLogits;
  Tensor gx = need_input ? Tensor::empty({f.n}, compute, input.device()) : Tensor();
  Tensor gt = need_target ? Tensor::empty({f.n}, compute, input.device()) : Tensor();
  if (f.n && (need_input || need_target)) {
    const bool reduce = loss.reduction != Reduction::None;
    Tensor g = contiguous(reshape(to_dtype(grad, compute), {reduce ? 1 : f.n}));
    pointwise_loss_backward_kernel.on(input.device())(loss.kind, f.x, f.t, f.w, f.pw, loss.param, g,
                                                      reduction_scale(loss.reduction, input), gx, gt);
  }
  if (gx.defined()) gx = to_dtype(reshape(gx, input.shape()), input.dtype());
  if (gt.defined()) gt = to_dtype(reshape(gt, target.shape()), target.dtype());
  return {gx, gt};
}

namespace {

struct Rows {
  Tensor s, t;
  int64_t R = 0, C = 0;
};

Rows distillation_rows(const Tensor& student, const Tensor& teacher, double temperature) {
  const char* op = "distillation_loss";
  AM_CHECK(is_floating(student.dtype()), TypeError, op, ": student logits must be a floating tensor, got ",
           student.describe());
  AM_CHECK(is_floating(teacher.dtype()), TypeError, op, ": teacher logits must be a floating tensor, got ",
           teacher.describe());
  AM_CHECK(student.dim() >= 1, ValueError, op, ": logits must have a class axis, got ", student.describe());
  AM_CHECK(teacher.shape() == student.shape(), ValueError, op, ": student logits ", student.describe(),
           " and teacher logits ", teacher.describe(), " must have the same shape");
  AM_CHECK(teacher.device() == student.device(), ValueError, op, ": teacher logits ", teacher.describe(),
           " are not on the device of the student logits ", student.describe());
  AM_CHECK(temperature > 0 && std::isfinite(temperature), ValueError, op,
           ": temperature must be positive and finite, got ", temperature);
  Rows r;
  r.C = student.shape().back();
  AM_CHECK(r.C > 0, ValueError, op, ": logits ", student.describe(), " have no classes");
  r.R = student.numel() / r.C;
  const DType compute = compute_dtype(student);
  r.s = contiguous(reshape(to_dtype(student, compute), {r.R, r.C}));
  r.t = contiguous(reshape(to_dtype(teacher, compute), {r.R, r.C}));
  return r;
}

// The divisor of the summed row losses.
double distillation_divisor(Reduction reduction, const Rows& r) {
  if (reduction == Reduction::Mean) return double(r.R * r.C);
  if (reduction == Reduction::BatchMean) return double(r.R);
  return 1.0;
}

}  // namespace

Tensor distillation_loss(const Tensor& student, const Tensor& teacher, double temperature, Reduction reduction) {
  const Rows r = distillation_rows(student, teacher, temperature);
  Tensor loss = Tensor::empty({r.R}, r.s.dtype(), student.device());
  if (r.R) distillation_kernel.on(student.device())(r.s, r.t, temperature, loss);
  Tensor out;
  if (reduction == Reduction::None) {
    out = reshape(loss, Shape(student.shape().begin(), student.shape().end() - 1));
  } else {
    out = reduce(ReduceOp::Sum, loss, std::nullopt, false);
    const double divisor = distillation_divisor(reduction, r);
    if (divisor != 1.0) out = binary(BinaryOp::Div, out, Scalar::from_float(divisor));  // 0 / 0 = NaN when empty
  }
  return to_dtype(out, student.dtype());
}

std::pair<Tensor, Tensor> distillation_loss_backward(const Tensor& grad, const Tensor& student, const Tensor& teacher,
                                                     double temperature, Reduction reduction, bool need_student,
                                                     bool need_teacher) {
  const Rows r = distillation_rows(student, teacher, temperature);
  const DType compute = r.s.dtype();
  Tensor gs = need_student ? Tensor::empty({r.R, r.C}, compute, student.device()) : Tensor();
  Tensor gt = need_teacher ? Tensor::empty({r.R, r.C}, compute, student.device()) : Tensor();
  if (r.R && (need_student || need_teacher)) {
    Tensor g = to_dtype(grad, compute);
    if (reduction == Reduction::None) {
      g = reshape(g, {r.R});
    } else {
      g = expand(reshape(g, {1}), {r.R});
      const double divisor = distillation_divisor(reduction, r);
      if (divisor != 1.0) g = binary(BinaryOp::Div, g, Scalar::from_float(divisor));
    }
    distillation_backward_kernel.on(student.device())(r.s, r.t, temperature, contiguous(g), gs, gt);
  }
  if (gs.defined()) gs = to_dtype(reshape(gs, student.shape()), student.dtype());
  if (gt.defined()) gt = to_dtype(reshape(gt, teacher.shape()), teacher.dtype());
  return {gs, gt};
}

}  // namespace aimass
