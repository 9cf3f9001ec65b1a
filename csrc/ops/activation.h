// GELU, SiLU and leaky ReLU (ActivationOp, ops/kernels/activation.h; rules in ops/activation_ops.h).
// 16-bit floats compute in float32 and return their own dtype.
#pragma once
#include "core/tensor.h"
#include "ops/kernels/activation.h"

namespace aimass {

// "gelu", "gelu_tanh", "silu", "leaky_relu": the name errors give.
const char* activation_name(ActivationOp op);
// param: LeakyRelu's negative slope (ignored by the others).
Tensor activation(ActivationOp op, const Tensor& x, double param = 0);
// grad * op'(x), in x's dtype.
Tensor activation_backward(ActivationOp op, const Tensor& x, const Tensor& grad, double param = 0);

}  // namespace aimass
