// A Python number on its way into an op: kept as an integer when it is one, so int64
// values past 2**53 survive, and typed "weakly" (a float scalar does not widen a float16
// tensor, an int scalar does not widen an int8 tensor), as in NumPy 2 and PyTorch.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/dtype.h"

namespace aimass {

struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float } kind = Kind::Float;
  int64_t i = 0;
  double f = 0;

  Scalar() = default;
  static Scalar from_bool(bool v) { Scalar s; s.kind = Kind::Bool; s.i = v; s.f = v; return s; }
  static Scalar from_int(int64_t v) { Scalar s; s.kind = Kind::Int; s.i = v; s.f = double(v); return s; }
  static Scalar from_float(double v) { Scalar s; s.kind = Kind::Float; s.f = v; s.i = int64_t(v); return s; }

  bool is_floating() const { return kind == Kind::Float; }
  // The dtype a lone scalar gets: bool, int64 or float32.
  DType default_dtype() const {
    return kind == Kind::Bool ? DType::Bool : kind == Kind::Int ? DType::Int64 : DType::Float32;
  }
  template <typename T>
  AM_HOST_DEVICE T to() const {
    if constexpr (std::is_same_v<T, bool>) return kind == Kind::Float ? f != 0 : i != 0;
    else if constexpr (std::is_integral_v<T>) return kind == Kind::Float ? T(f) : T(i);
    else return T(kind == Kind::Float ? f : double(i));
  }
};

// The dtype of `tensor op scalar`: the tensor's, unless the scalar's category is higher
// (float scalar with an integer tensor -> float32; int scalar with a bool tensor -> int64).
DType result_type(DType tensor_dtype, const Scalar& s);

}  // namespace aimass
