// Differentiable pooling (ops/pool.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"
#include "ops/pool.h"

namespace aimass::autograd {

// x: (N, C, H, W) -> (N, C, OH, OW)
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);

}  // namespace aimass::autograd
