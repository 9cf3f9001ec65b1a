// Differentiable fused linear layer (ops/linear.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"
#include "ops/linear.h"

namespace aimass::autograd {

// x: (..., in), w: (out, in) (PyTorch's layout), bias: (out,) or undefined -> (..., out) = act(x @ w^T + bias).
// Gradients for x, w, bias.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act);

}  // namespace aimass::autograd
