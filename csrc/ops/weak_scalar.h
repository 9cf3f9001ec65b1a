// Python numbers as operands: `t + 1.5`, `where(c, t, 0)`, `t *= 2`. A number is typed
// "weakly" (core/scalar.h, result_type): next to a tensor it takes the tensor's dtype unless
// its category is higher, so 1.5 keeps a float16 tensor float16 and turns an int tensor into
// float32; a number alone takes its default dtype (bool, int64 or float32).
#pragma once
#include <utility>

#include "core/scalar.h"
#include "core/tensor.h"

namespace aimass {

// A 0-d tensor of `value` on `device`, typed as it is next to a tensor of dtype `other`.
Tensor weak_scalar_tensor(const Scalar& value, DType other, Device device);

// One operand of a two-operand op, as the caller gave it: a tensor, or a number (tensor undefined).
struct Operand {
  Tensor tensor;
  Scalar scalar;
  static Operand of(const Tensor& t) { return {t, Scalar()}; }
  static Operand number(const Scalar& s) { return {Tensor(), s}; }
  bool is_number() const { return !tensor.defined(); }
};

// Both operands as tensors, numbers as 0-d tensors on `device` (where(cond, ...): cond's): a number
// next to a tensor is typed by that tensor's dtype; when both are numbers, `a` takes its default
// dtype and `b` is typed next to it.
std::pair<Tensor, Tensor> weak_operands(const Operand& a, const Operand& b, Device device);

}  // namespace aimass
