// Differentiable reductions (ops/reduce.h), and sum_to, the gradient of a broadcast.
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "ops/kernels.h"

namespace aimass::autograd {

Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
              int64_t ddof = 0);

// The gradient of a broadcast: sums grad over the dims that broadcasting added or stretched,
// giving a tensor of `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace aimass::autograd
