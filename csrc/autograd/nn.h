// Differentiable softmax and cross entropy (ops/nn.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"
#include "ops/nn.h"

namespace aimass::autograd {

Tensor softmax(const Tensor& x, int64_t axis, bool log);
// Gradient with respect to the logits only (the target and weight get none).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing);

}  // namespace aimass::autograd
