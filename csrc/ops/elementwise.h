// Elementwise ops with NumPy broadcasting and type promotion.
#pragma once
#include "core/scalar.h"
#include "core/tensor.h"
#include "ops/kernels/elementwise.h"

namespace aimass {

Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, Scalar b);
Tensor binary(BinaryOp op, Scalar a, const Tensor& b);
// a op= b: the result written into a (b broadcast to a's shape). TypeError when the result
// would change kind on the way in (float into an integer tensor, a number into bool), as
// NumPy's same_kind casting rule.
void binary_inplace(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// A missing bound is given as +-inf.
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);

const char* unary_name(UnaryOp op);
const char* binary_name(BinaryOp op);

}  // namespace aimass
