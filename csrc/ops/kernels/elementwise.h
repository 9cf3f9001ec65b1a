// Elementwise kernels: unary and binary ops, select, clamp, copy (dtype conversion) and fill.
// CPU: ops/cpu/{unary, binary, select, copy}.cpp (SIMD bodies in ops/cpu/simd); CUDA:
// ops/cuda/{unary, binary, select, copy}.cu. Kernels trust their arguments (ops/kernels.h).
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace aimass {

enum class UnaryOp : uint8_t {
  Neg, Abs, Exp, Log, Sqrt, Tanh, Sigmoid, Relu, Sign, Square, Reciprocal, Rsqrt,
  Sin, Cos, Floor, Ceil, Round, LogicalNot,
};
enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Remainder,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,  // these produce bool
};
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }

// out = op(in). in and out: same shape, any strides, same dtype (LogicalNot: out is bool).
AIMASS_KERNEL(unary, void, (UnaryOp op, const Tensor& in, const Tensor& out))
// out = a op b. a and b already broadcast to out's shape (stride-0 views), one dtype; out has
// that dtype, or bool for comparisons and logical ops. Any strides.
AIMASS_KERNEL(binary, void, (BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out))
// out = cond ? a : b. All out's shape (broadcast views); cond bool; a, b, out one dtype.
AIMASS_KERNEL(where, void, (const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out))
// out = min(max(in, lo), hi); a missing bound is the Scalar +-inf. NaN propagates.
AIMASS_KERNEL(clamp, void, (const Tensor& in, Scalar lo, Scalar hi, const Tensor& out))
// dst = src converted to dst's dtype. Same shape and device, any strides (src may have
// stride-0 dims). Float to integer truncates toward zero; to bool is "!= 0".
AIMASS_KERNEL(copy, void, (const Tensor& src, const Tensor& dst))
// Every element of out (any strides) = value converted to out's dtype.
AIMASS_KERNEL(fill, void, (const Tensor& out, Scalar value))

}  // namespace aimass
