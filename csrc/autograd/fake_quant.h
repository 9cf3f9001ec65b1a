// Differentiable fake quantisation (ops/fake_quant.h) with the straight-through estimator.
// Part of autograd/functions.h (see there for the rules every function follows). The scales and
// zero points are constants of the graph (no gradient), as in PyTorch's FakeQuantize.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass::autograd {

Tensor fake_quant_per_tensor_u8(const Tensor& x, float scale, int32_t zero);
Tensor fake_quant_per_channel_s8(const Tensor& w, const Tensor& scales);

}  // namespace aimass::autograd
