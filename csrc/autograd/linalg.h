// Differentiable matmul (ops/linalg.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"

namespace aimass::autograd {

Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace aimass::autograd
