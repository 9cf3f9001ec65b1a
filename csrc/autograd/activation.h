// Differentiable activations (ops/activation.h): gelu, silu, leaky_relu.
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"

namespace aimass::autograd {

Tensor gelu(const Tensor& x, bool tanh_approximation);
Tensor silu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope);

}  // namespace aimass::autograd
