// Differentiable elementwise ops (ops/elementwise.h): unary, binary, where, clamp.
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/scalar.h"
#include "core/tensor.h"
#include "ops/kernels.h"

namespace aimass::autograd {

Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, Scalar b);
Tensor binary(BinaryOp op, Scalar a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);

}  // namespace aimass::autograd
