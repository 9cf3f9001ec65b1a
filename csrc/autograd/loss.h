// Differentiable losses (ops/loss.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"
#include "ops/loss.h"
#include "ops/nn.h"

namespace aimass::autograd {

// Elementwise losses; input and target of one shape (else ValueError: no silent broadcasting). Gradients for
// input and target where they require grad (target: mse, l1, huber, kl_div; bce: input only).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction);
Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction);
// Stable: max(x,0) - x*t + log1p(exp(-|x|)), with pos_weight (broadcast over the last axis, as PyTorch) and weight
// (broadcastable to input) optional (undefined).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction);
// PyTorch's F.kl_div: input log-probabilities; target probabilities (log_target: log-probabilities);
// pointwise target * (log target - input). Reduction adds BatchMean (sum / N).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target);
// Knowledge distillation (Hinton et al.): T^2 * KL(softmax(teacher / T) || softmax(student / T)), over the last axis,
// reduced per `reduction` (None: per row; BatchMean: over rows; Mean: over elements, as kl_div). Gradient for the
// student (and the teacher if it requires grad).
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature,
                         Reduction reduction);

}  // namespace aimass::autograd
