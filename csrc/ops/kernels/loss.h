// Pointwise losses and knowledge distillation, with their gradients (the op layer is
// ops/loss.h). CPU: ops/cpu/loss.cpp; CUDA: ops/cuda/loss.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// The pointwise losses l(x, t) of one input element x and its target t (param: huber's delta):
//   Mse: (x - t)^2          L1: |x - t|          Huber: 0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)
//   BceWithLogits: w ((1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0)))  (w, pw: 1 when absent)
//   KlDiv: t (log t - x), 0 where t == 0     KlDivLogTarget: exp(t) (t - x)
enum class LossKind : uint8_t { Mse, L1, Huber, BceWithLogits, KlDiv, KlDivLogTarget };

// input, target: (n,) contiguous, one dtype, float32 or float64 (the op layer widens 16-bit
// floats). weight, pos_weight: (n,) contiguous of that dtype (BceWithLogits only, the op layer
// has expanded them), or undefined. reduce = false: out (n,) gets l per element; reduce = true:
// out (0-d) = scale * sum_i l_i, accumulated in double.
AIMASS_KERNEL(pointwise_loss, void,
              (LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
               const Tensor& pos_weight, double param, bool reduce, double scale, const Tensor& out))
// Its gradient: grad_input[i] = scale * grad[i or 0] * dl/dx, grad_target[i] = scale * grad[i or 0] * dl/dt.
// grad: (n,) per element, or (1,) one value for every element (the gradient of a reduced loss,
// read on the device: no sync). grad_input / grad_target: (n,) contiguous, or undefined when
// not wanted (BceWithLogits has no target gradient). Huber: dl/dx = clamp(x - t, -delta, delta);
// L1: sign(x - t) (0 at 0).
AIMASS_KERNEL(pointwise_loss_backward, void,
              (LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
               const Tensor& pos_weight, double param, const Tensor& grad, double scale, const Tensor& grad_input,
               const Tensor& grad_target))
// Knowledge distillation over rows: student, teacher (R, C) contiguous, one dtype (float32 or
// float64). With p = softmax(teacher / T), q = softmax(student / T):
// loss[r] = T^2 sum_c p (log p - log q) (a zero p contributes 0). loss: (R,).
AIMASS_KERNEL(distillation, void,
              (const Tensor& student, const Tensor& teacher, double temperature, const Tensor& loss))
// Its gradient from grad_loss (R,): grad_student = T g (q - p); grad_teacher = T g p (log p - log q - kl)
// with kl = sum_c p (log p - log q). Either output (R, C) may be undefined when not wanted.
AIMASS_KERNEL(distillation_backward, void,
              (const Tensor& student, const Tensor& teacher, double temperature, const Tensor& grad_loss,
               const Tensor& grad_student, const Tensor& grad_teacher))

}  // namespace aimass
