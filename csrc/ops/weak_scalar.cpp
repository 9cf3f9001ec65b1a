#include "ops/weak_scalar.h"

#include "ops/convert.h"

namespace aimass {

Tensor weak_scalar_tensor(const Scalar& value, DType other, Device device) {
  return scalar_tensor(value, result_type(other, value), device);
}

std::pair<Tensor, Tensor> weak_operands(const Operand& a, const Operand& b, Device device) {
  Tensor ta = a.tensor, tb = b.tensor;
  if (a.is_number() && b.is_number()) ta = scalar_tensor(a.scalar, a.scalar.default_dtype(), device);
  if (ta.defined() && tb.defined()) return {ta, tb};
  if (!ta.defined()) ta = weak_scalar_tensor(a.scalar, tb.dtype(), device);
  if (!tb.defined()) tb = weak_scalar_tensor(b.scalar, ta.dtype(), device);
  return {ta, tb};
}

}  // namespace aimass
