#include "core/scalar.h"

namespace aimass {

DType result_type(DType tensor_dtype, const Scalar& s) {
  if (s.kind == Scalar::Kind::Float) return is_floating(tensor_dtype) ? tensor_dtype : DType::Float32;
  if (s.kind == Scalar::Kind::Int) return tensor_dtype == DType::Bool ? DType::Int64 : tensor_dtype;
  return tensor_dtype;
}

}  // namespace aimass
