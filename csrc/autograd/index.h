// Differentiable indexing (ops/index.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include <vector>

#include "core/tensor.h"
#include "ops/index.h"

namespace aimass::autograd {

Tensor index(const Tensor& x, const std::vector<TensorIndex>& idx);

}  // namespace aimass::autograd
