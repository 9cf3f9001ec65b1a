// Elementwise activations whose rules are in ops/activation_ops.h, and their gradients. CPU:
// ops/cpu/activation.cpp; CUDA: ops/cuda/activation.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

enum class ActivationOp : uint8_t { Gelu, GeluTanh, Silu, LeakyRelu };

// out = op(in) (param: LeakyRelu's negative slope). in, out: contiguous, same shape, float32 or
// float64 (the op layer widens 16-bit floats).
AIMASS_KERNEL(activation, void, (ActivationOp op, const Tensor& in, const Tensor& out, double param))
// grad_in = grad_out * op'(x); x, grad_out, grad_in contiguous, same shape and dtype.
AIMASS_KERNEL(activation_backward, void,
              (ActivationOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_in, double param))

}  // namespace aimass
