// Reductions over axes: sum, mean, max, min, prod, argmax, argmin, var, any, all.
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"
#include "ops/kernels/reduce.h"

namespace aimass {

// axes == nullopt reduces over every axis. ArgMax / ArgMin take at most one axis (none: the
// index into the flattened tensor). ddof is used by Var only.
Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
              int64_t ddof = 0);

const char* reduce_name(ReduceOp op);

}  // namespace aimass
