// Reductions over one axis. CPU: ops/cpu/reduce.cpp; CUDA: ops/cuda/reduce.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

enum class ReduceOp : uint8_t { Sum, Mean, Max, Min, Prod, ArgMax, ArgMin, Var, Any, All };

// Reduction over the middle axis. in: (O, R, I) contiguous; out: (O, I) contiguous.
// Sum, Prod: out dtype is sum_result_type(in); Mean, Var: floating in -> same dtype, integer
// in -> float32; Max, Min: in's dtype (R > 0 guaranteed); ArgMax, ArgMin: int64, first
// occurrence wins, NaN counts as the maximum (and minimum) as in NumPy; Any, All: bool.
// Var divides by (R - ddof). Mean of R == 0 is NaN.
AIMASS_KERNEL(reduce, void, (ReduceOp op, const Tensor& in, const Tensor& out, int64_t ddof))

}  // namespace aimass
