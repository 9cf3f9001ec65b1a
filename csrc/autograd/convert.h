// Differentiable dtype and device conversion (ops/convert.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"

namespace aimass::autograd {

Tensor to_dtype(const Tensor& x, DType dtype, bool copy = false);
Tensor to_device(const Tensor& x, Device device, bool copy = false);

}  // namespace aimass::autograd
