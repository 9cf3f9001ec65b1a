// Losses between an input and a target of one shape (mse, l1, huber, binary cross-entropy with
// logits, kl_div), and the distillation loss between two sets of logits. The kernels (formulas
// in ops/kernels/loss.h) are ops/cpu/loss.cpp and ops/cuda/loss.cu. cross_entropy is in ops/nn.h.
// All compute in float32 or float64 (16-bit floats widen to float32) and return the input's dtype.
#pragma once
#include <utility>

#include "core/tensor.h"
#include "ops/kernels/loss.h"
#include "ops/nn.h"

namespace aimass {

// One pointwise loss as the op layer runs it; `name` is the op its errors name.
struct PointwiseLoss {
  LossKind kind;
  Reduction reduction;
  double param;  // Huber: delta (> 0)
  const char* name;
};

// l(input, target) per element, reduced: None keeps input's shape; Mean divides the sum by the
// element count (NaN when empty), Sum does not, BatchMean (kl_div only) divides by input's first
// dim. input and target must have one shape (no broadcasting between them). weight and
// pos_weight (BceWithLogits only; undefined for none) broadcast to input's shape.
Tensor pointwise_loss(const PointwiseLoss& loss, const Tensor& input, const Tensor& target,
                      const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor());
// The gradients with respect to input and target (BceWithLogits: input only) given the gradient
// of pointwise_loss's result; each is undefined unless asked for.
std::pair<Tensor, Tensor> pointwise_loss_backward(const PointwiseLoss& loss, const Tensor& grad, const Tensor& input,
                                                  const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                                                  bool need_input, bool need_target);

// T^2 KL(softmax(teacher / T) || softmax(student / T)) over the last axis of two logits tensors
// of one shape (..., C). None: one loss per row, shape (...); Sum: their sum; BatchMean: the sum
// over the number of rows; Mean: the sum over the element count (F.kl_div's 'mean').
Tensor distillation_loss(const Tensor& student, const Tensor& teacher, double temperature, Reduction reduction);
// The gradients with respect to the student's and the teacher's logits (each only if asked for).
std::pair<Tensor, Tensor> distillation_loss_backward(const Tensor& grad, const Tensor& student, const Tensor& teacher,
                                                     double temperature, Reduction reduction, bool need_student,
                                                     bool need_teacher);

}  // namespace aimass
