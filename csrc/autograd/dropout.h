// Differentiable dropout (ops/dropout.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"

namespace aimass::autograd {

// Inverted dropout: zero with probability p, scale the rest by 1 / (1 - p); identity when
// !training or p == 0. Random bits from the global seedable Philox generator (am.manual_seed).
Tensor dropout(const Tensor& x, double p, bool training);

}  // namespace aimass::autograd
