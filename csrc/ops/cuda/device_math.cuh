// The device twin of ops/cpu/scalar_ops.h: the same NumPy semantics, element for element, so
// a CUDA kernel and its CPU reference agree (to the last ulp of the math library for the
// transcendental functions). A is the arithmetic type acc_t<T>: float for the 16-bit floats,
// int64 for bool, T otherwise. Integer arithmetic wraps (done in unsigned types); integer
// division by zero gives 0; float-to-integer conversion truncates, NaN gives 0, out-of-range
// values saturate.
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "core/dtype.h"
#include "core/scalar.h"
#include "ops/kernels.h"

namespace aimass::gpu {

template <typename A>
inline constexpr bool kFloatArith = std::is_floating_point_v<A>;

template <typename A>
using wrap_t = std::make_unsigned_t<A>;

template <typename A> __host__ __device__ inline bool is_negative(A x) {
  if constexpr (std::is_unsigned_v<A>) return false;
  else return x < A(0);
}

template <typename A> __device__ inline A wrap_add(A a, A b) {
  if constexpr (kFloatArith<A>) return a + b;
  else return A(wrap_t<A>(a) + wrap_t<A>(b));
}
template <typename A> __device__ inline A wrap_sub(A a, A b) {
  if constexpr (kFloatArith<A>) return a - b;
  else return A(wrap_t<A>(a) - wrap_t<A>(b));
}
template <typename A> __device__ inline A wrap_mul(A a, A b) {
  if constexpr (kFloatArith<A>) return a * b;
  else return A(wrap_t<A>(a) * wrap_t<A>(b));
}

// float or double -> arithmetic type A, truncating toward zero for integers.
template <typename A, typename F>
__host__ __device__ inline A saturate_cast(F v) {
  if constexpr (kFloatArith<A>) {
    return A(v);
  } else {
    constexpr F lo = F(std::numeric_limits<A>::min()), hi = F(std::numeric_limits<A>::max());
    if (!(v == v)) return A(0);
    if (v <= lo) return std::numeric_limits<A>::min();
    if (v >= hi) return std::numeric_limits<A>::max();
    return A(v);
  }
}

// Value conversion between any two element types (copy, fill, results back to storage type).
template <typename To, typename From>
__host__ __device__ inline To convert(From x) {
  if constexpr (std::is_same_v<To, From>) {
    return x;
  } else if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>) {
    return convert<To>(float(x));
  } else if constexpr (std::is_same_v<To, bool>) {
    return x != From(0);
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    return To(float(x));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    return saturate_cast<To>(x);
  } else {
    return static_cast<To>(x);
  }
}

// A fill value as element type T, converted on the host exactly as the CPU fill does.
template <typename T>
inline T scalar_as(const Scalar& value) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return T(value.to<float>());
  else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return value.kind == Scalar::Kind::Float ? saturate_cast<T>(value.f) : T(value.i);
  else return value.to<T>();
}

// CUDA's math functions by precision: name##f for float, name for double.
#define AM_DEVICE_MATH1(name) \
  template <typename A> __device__ inline A d_##name(A x) { \
    if constexpr (std::is_same_v<A, float>) return ::name##f(x); \
    else return ::name(x); \
  }
AM_DEVICE_MATH1(exp)
AM_DEVICE_MATH1(log)
AM_DEVICE_MATH1(sqrt)
AM_DEVICE_MATH1(tanh)
AM_DEVICE_MATH1(sin)
AM_DEVICE_MATH1(cos)
AM_DEVICE_MATH1(floor)
AM_DEVICE_MATH1(ceil)
AM_DEVICE_MATH1(rint)
AM_DEVICE_MATH1(fabs)
#undef AM_DEVICE_MATH1
template <typename A> __device__ inline A d_pow(A a, A b) {
  if constexpr (std::is_same_v<A, float>) return ::powf(a, b);
  else return ::pow(a, b);
}
template <typename A> __device__ inline A d_fmod(A a, A b) {
  if constexpr (std::is_same_v<A, float>) return ::fmodf(a, b);
  else return ::fmod(a, b);
}

// Integer power by squaring, wrapping; a negative exponent gives 1/a^|b| truncated.
template <typename A>
__device__ inline A int_pow(A a, A b) {
  if (is_negative(b)) return a == A(1) ? A(1) : a == A(-1) ? ((wrap_t<A>(b) & 1) ? A(-1) : A(1)) : A(0);
  A result = 1;
  for (wrap_t<A> e = wrap_t<A>(b); e; e >>= 1) {
    if (e & 1) result = wrap_mul(result, a);
    a = wrap_mul(a, a);
  }
  return result;
}

// The float-only unary ops on integers (and bool): through double, then back, saturating.
#define AM_VIA_DOUBLE(expr) saturate_cast<A>([](double v) { return expr; }(double(x)))

template <UnaryOp op, typename A>
__device__ inline A unary_scalar(A x) {
  constexpr bool fp = kFloatArith<A>;
  if constexpr (op == UnaryOp::Neg) {
    if constexpr (fp) return -x;  // not 0 - x, which loses the sign of zero
    else return wrap_sub(A(0), x);
  }
  else if constexpr (op == UnaryOp::Abs) {
    if constexpr (fp) return d_fabs(x);
    else return is_negative(x) ? wrap_sub(A(0), x) : x;
  } else if constexpr (op == UnaryOp::Exp) {
    if constexpr (fp) return d_exp(x); else return AM_VIA_DOUBLE(::exp(v));
  } else if constexpr (op == UnaryOp::Log) {
    if constexpr (fp) return d_log(x); else return AM_VIA_DOUBLE(::log(v));
  } else if constexpr (op == UnaryOp::Sqrt) {
    if constexpr (fp) return d_sqrt(x); else return AM_VIA_DOUBLE(::sqrt(v));
  } else if constexpr (op == UnaryOp::Tanh) {
    if constexpr (fp) return d_tanh(x); else return AM_VIA_DOUBLE(::tanh(v));
  } else if constexpr (op == UnaryOp::Sigmoid) {
    // exp(-x) overflows to inf for very negative x: 1 / inf = 0, never NaN.
    if constexpr (fp) return A(1) / (A(1) + d_exp(-x));
    else return AM_VIA_DOUBLE(1.0 / (1.0 + ::exp(-v)));
  } else if constexpr (op == UnaryOp::Relu) {
    return is_negative(x) ? A(0) : x;  // NaN stays NaN
  } else if constexpr (op == UnaryOp::Sign) {
    if constexpr (fp) return x > A(0) ? A(1) : x < A(0) ? A(-1) : x;  // keeps NaN and +-0
    else return A(int(x > A(0)) - int(is_negative(x)));
  } else if constexpr (op == UnaryOp::Square) {
    return wrap_mul(x, x);
  } else if constexpr (op == UnaryOp::Reciprocal) {
    if constexpr (fp) return A(1) / x; else return x == A(0) ? A(0) : A(A(1) / x);
  } else if constexpr (op == UnaryOp::Rsqrt) {
    if constexpr (fp) return A(1) / d_sqrt(x);
    else return AM_VIA_DOUBLE(1.0 / ::sqrt(v));
  } else if constexpr (op == UnaryOp::Sin) {
    if constexpr (fp) return d_sin(x); else return AM_VIA_DOUBLE(::sin(v));
  } else if constexpr (op == UnaryOp::Cos) {
    if constexpr (fp) return d_cos(x); else return AM_VIA_DOUBLE(::cos(v));
  } else if constexpr (op == UnaryOp::Floor) {
    if constexpr (fp) return d_floor(x); else return x;
  } else if constexpr (op == UnaryOp::Ceil) {
    if constexpr (fp) return d_ceil(x); else return x;
  } else if constexpr (op == UnaryOp::Round) {
    if constexpr (fp) return d_rint(x); else return x;  // half to even, as NumPy
  } else {
    static_assert(op == UnaryOp::LogicalNot);
    return A(x == A(0));
  }
}
#undef AM_VIA_DOUBLE

// Floor division and Python's modulo (the result takes the divisor's sign).
template <typename A>
__device__ inline A floor_div(A a, A b) {
  if constexpr (kFloatArith<A>) {
    return a / b;
  } else {
    if (b == A(0)) return A(0);
    if constexpr (std::is_signed_v<A>) {
      if (b == A(-1)) return wrap_sub(A(0), a);
      A q = A(a / b);
      return (a % b != 0 && ((a < 0) != (b < 0))) ? A(q - 1) : q;
    } else {
      return A(a / b);
    }
  }
}
template <typename A>
__device__ inline A python_mod(A a, A b) {
  if constexpr (kFloatArith<A>) {
    A r = d_fmod(a, b);
    if (r != A(0) && ((r < A(0)) != (b < A(0)))) r += b;
    return r;
  } else {
    if (b == A(0)) return A(0);
    if constexpr (std::is_signed_v<A>) {
      if (b == A(-1)) return A(0);
      A r = A(a % b);
      return (r != 0 && ((r < 0) != (b < 0))) ? A(r + b) : r;
    } else {
      return A(a % b);
    }
  }
}

// NaN wins, as NumPy's maximum / minimum.
template <typename A> __host__ __device__ inline A nan_maximum(A a, A b) { return (a > b || a != a) ? a : b; }
template <typename A> __host__ __device__ inline A nan_minimum(A a, A b) { return (a < b || a != a) ? a : b; }

template <BinaryOp op, typename A>
using binary_result_t = std::conditional_t<is_comparison(op), bool, A>;

template <BinaryOp op, typename A>
__device__ inline binary_result_t<op, A> binary_scalar(A a, A b) {
  if constexpr (op == BinaryOp::Add) return wrap_add(a, b);
  else if constexpr (op == BinaryOp::Sub) return wrap_sub(a, b);
  else if constexpr (op == BinaryOp::Mul) return wrap_mul(a, b);
  else if constexpr (op == BinaryOp::Div) return floor_div(a, b);
  else if constexpr (op == BinaryOp::Pow) {
    if constexpr (kFloatArith<A>) return d_pow(a, b); else return int_pow(a, b);
  }
  else if constexpr (op == BinaryOp::Maximum) return nan_maximum(a, b);
  else if constexpr (op == BinaryOp::Minimum) return nan_minimum(a, b);
  else if constexpr (op == BinaryOp::Remainder) return python_mod(a, b);
  else if constexpr (op == BinaryOp::Eq) return a == b;
  else if constexpr (op == BinaryOp::Ne) return a != b;
  else if constexpr (op == BinaryOp::Lt) return a < b;
  else if constexpr (op == BinaryOp::Le) return a <= b;
  else if constexpr (op == BinaryOp::Gt) return a > b;
  else if constexpr (op == BinaryOp::Ge) return a >= b;
  else if constexpr (op == BinaryOp::LogicalAnd) return a != A(0) && b != A(0);
  else { static_assert(op == BinaryOp::LogicalOr); return a != A(0) || b != A(0); }
}

}  // namespace aimass::gpu
