#include "nn/keras_loss.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

namespace {

Tensor reduced(const Tensor& per_sample, Reduction reduction) {
  switch (reduction) {
    case Reduction::None: return per_sample;
    case Reduction::Sum: return ag::reduce(ReduceOp::Sum, per_sample, std::nullopt, false);
    default: return ag::reduce(ReduceOp::Mean, per_sample, std::nullopt, false);
  }
}

// log p over the last axis: log_softmax of logits, or log(clip(p / sum p, eps, 1 - eps)).
Tensor class_log_probs(const Tensor& input, bool from_logits) {
  if (from_logits) return ag::softmax(input, -1, true);
  Tensor p = ag::binary(BinaryOp::Div, input, ag::reduce(ReduceOp::Sum, input, std::vector<int64_t>{-1}, true));
  return ag::unary(UnaryOp::Log, ag::clamp(p, Scalar::from_float(kKerasEpsilon), Scalar::from_float(1.0 - kKerasEpsilon)));
}

std::string shape_text(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

void check_floating(const Tensor& input, const char* op) {
  AM_CHECK(input.defined() && is_floating(input.dtype()), TypeError, op, ": the input must be floating (probabilities or "
           "logits), got ", input.defined() ? input.describe() : "None");
  AM_CHECK(input.dim() >= 1 && input.size(-1) > 0, ValueError, op, ": expected an input (..., classes), got ", input.describe());
}

}  // namespace

Tensor keras_categorical_crossentropy(const Tensor& input, const Tensor& target_, bool from_logits, Reduction reduction) {
  check_floating(input, "categorical_crossentropy");
  AM_CHECK(target_.defined() && target_.shape() == input.shape(), ValueError, "categorical_crossentropy: the target must be "
           "one-hot (or probabilities) of the input's shape ", input.describe(), ", got ",
           target_.defined() ? target_.describe() : "None", " (integer class labels: sparse_categorical_crossentropy)");
  Tensor target = to_dtype(target_, input.dtype());
  Tensor per_class = ag::binary(BinaryOp::Mul, target, class_log_probs(input, from_logits));  // (..., C)
  Tensor per_sample = ag::unary(UnaryOp::Neg, ag::reduce(ReduceOp::Sum, per_class, std::vector<int64_t>{-1}, false));
  return reduced(per_sample, reduction);
}

Tensor keras_sparse_categorical_crossentropy(const Tensor& input, const Tensor& target_, bool from_logits,
                                             Reduction reduction) {
  check_floating(input, "sparse_categorical_crossentropy");
  Shape sample_shape(input.shape().begin(), input.shape().end() - 1);
  Tensor target = target_;
  // Keras accepts labels of shape (..., 1) too.
  if (target.defined() && target.dim() == input.dim() && target.size(-1) == 1) target = reshape(target, sample_shape);
  AM_CHECK(target.defined() && target.shape() == sample_shape, ValueError, "sparse_categorical_crossentropy: the target "
           "must hold one class index per sample, shape ", shape_text(sample_shape), " for the input ", input.describe(),
           ", got ", target.defined() ? target.describe() : "None", " (one-hot targets: categorical_crossentropy)");
  int64_t classes = input.size(-1);
  Tensor labels = to_dtype(target, DType::Int64);
  if (labels.numel() > 0) {
    int64_t lo = item(reduce(ReduceOp::Min, labels, std::nullopt, false)).i;
    int64_t hi = item(reduce(ReduceOp::Max, labels, std::nullopt, false)).i;
    AM_CHECK(lo >= 0 && hi < classes, IndexError, "sparse_categorical_crossentropy: class labels must be in [0, ",
             classes, "), got values in [", lo, ", ", hi, "]");
  }
  // one_hot: (..., C) with 1 where c == label
  Tensor classes_range = arange(Scalar::from_int(0), Scalar::from_int(classes), Scalar::from_int(1), DType::Int64, input.device());
  Tensor one_hot = to_dtype(binary(BinaryOp::Eq, unsqueeze(labels, -1), classes_range), input.dtype());
  Tensor per_class = ag::binary(BinaryOp::Mul, one_hot, class_log_probs(input, from_logits));
  Tensor per_sample = ag::unary(UnaryOp::Neg, ag::reduce(ReduceOp::Sum, per_class, std::vector<int64_t>{-1}, false));
  return reduced(per_sample, reduction);
}

Tensor keras_binary_crossentropy(const Tensor& input, const Tensor& target_, bool from_logits, Reduction reduction) {
  check_floating(input, "binary_crossentropy");
  AM_CHECK(target_.defined() && target_.numel() == input.numel(), ValueError, "binary_crossentropy: the target must have "
           "the input's shape ", input.describe(), ", got ", target_.defined() ? target_.describe() : "None");
  Tensor target = to_dtype(target_.shape() == input.shape() ? target_ : reshape(target_, input.shape()), input.dtype());
  Tensor per_element;
  if (from_logits) {
    per_element = ag::binary_cross_entropy_with_logits(input, target, Tensor(), Tensor(), Reduction::None);
  } else {
    Tensor p = ag::clamp(input, Scalar::from_float(kKerasEpsilon), Scalar::from_float(1.0 - kKerasEpsilon));
    Tensor log_p = ag::unary(UnaryOp::Log, p);
    Tensor log_1mp = ag::unary(UnaryOp::Log, ag::binary(BinaryOp::Sub, Scalar::from_float(1.0), p));
    Tensor one_minus_t = ag::binary(BinaryOp::Sub, Scalar::from_float(1.0), target);
    per_element = ag::unary(UnaryOp::Neg, ag::binary(BinaryOp::Add, ag::binary(BinaryOp::Mul, target, log_p),
                                                     ag::binary(BinaryOp::Mul, one_minus_t, log_1mp)));
  }
  Tensor per_sample = input.dim() == 0 ? per_element
                                       : ag::reduce(ReduceOp::Mean, per_element, std::vector<int64_t>{-1}, false);
  return reduced(per_sample, reduction);
}

}  // namespace aimass::nn
