// Differentiable convolution (ops/conv.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"
#include "ops/conv.h"

namespace aimass::autograd {

// x: (N, C, H, W), w: (O, C/groups, KH, KW), bias: (O,) or undefined -> (N, O, OH, OW). Gradients for x, w, bias.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);

}  // namespace aimass::autograd
