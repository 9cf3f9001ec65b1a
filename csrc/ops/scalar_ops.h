// The scalar definition of every elementwise op and dtype conversion: NumPy's semantics, the
// reference that the CPU strided loops, the CPU vectorised loops (cpu/simd/) and the CUDA
// kernels all follow. Every element rule is AM_HOST_DEVICE, so a CUDA kernel runs the same code
// as its CPU reference (results agree to the last ulp of each side's math library for the
// transcendental functions); the host-only helpers turn a Scalar into an element value.
// A is the arithmetic type acc_t<T>: float for the 16-bit floats, int64 for bool, T otherwise.
// Integer arithmetic wraps as in NumPy (done in unsigned types: signed overflow is undefined
// in C++); integer division by zero gives 0; float-to-integer conversion truncates, NaN gives 0
// and values beyond int64 saturate (a C cast would be undefined behaviour).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/dtype.h"
#include "core/scalar.h"
#include "ops/kernels/elementwise.h"

namespace aimass::scalar_ops {

template <typename A>
inline constexpr bool kFloatArith = std::is_floating_point_v<A>;

template <typename A>
using wrap_t = std::make_unsigned_t<A>;

// x < 0 without -Wtype-limits noise for unsigned types.
template <typename A> AM_HOST_DEVICE inline bool is_negative(A x) {
  if constexpr (std::is_unsigned_v<A>) return false;
  else return x < A(0);
}

template <typename A> AM_HOST_DEVICE inline A wrap_add(A a, A b) {
  if constexpr (kFloatArith<A>) return a + b;
  else return A(wrap_t<A>(a) + wrap_t<A>(b));
}
template <typename A> AM_HOST_DEVICE inline A wrap_sub(A a, A b) {
  if constexpr (kFloatArith<A>) return a - b;
  else return A(wrap_t<A>(a) - wrap_t<A>(b));
}
template <typename A> AM_HOST_DEVICE inline A wrap_mul(A a, A b) {
  if constexpr (kFloatArith<A>) return a * b;
  else return A(wrap_t<A>(a) * wrap_t<A>(b));
}

// double (or float) -> arithmetic type A, truncating toward zero for integers. Narrow integers
// go through int64 and wrap, as NumPy's casts do on x86 (float32 -65.4 -> uint8 191).
template <typename A, typename F>
AM_HOST_DEVICE inline A saturate_cast(F v) {
  if constexpr (kFloatArith<A>) {
    return A(v);
  } else if constexpr (sizeof(A) < sizeof(int64_t)) {
    return A(saturate_cast<int64_t>(v));
  } else {
    constexpr F lo = F(std::numeric_limits<A>::min()), hi = F(std::numeric_limits<A>::max());
    if (!(v == v)) return A(0);
    if (v <= lo) return std::numeric_limits<A>::min();
    if (v >= hi) return std::numeric_limits<A>::max();
    return A(v);
  }
}

// Value conversion between any two element types (copy, fill, where scalars come from).
template <typename To, typename From>
AM_HOST_DEVICE inline To convert(From x) {
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

// Integer power by squaring, wrapping; a negative exponent gives 1/a^|b| truncated.
template <typename A>
AM_HOST_DEVICE inline A int_pow(A a, A b) {
  if (is_negative(b)) return a == A(1) ? A(1) : a == A(-1) ? ((wrap_t<A>(b) & 1) ? A(-1) : A(1)) : A(0);
  A result = 1;
  for (wrap_t<A> e = wrap_t<A>(b); e; e >>= 1) {
    if (e & 1) result = wrap_mul(result, a);
    a = wrap_mul(a, a);
  }
  return result;
}

// Unary ops that exist only for floats reach integers (and bool) through double.
template <typename A, typename F>
AM_HOST_DEVICE inline A via_double(A x, F&& f) {
  return saturate_cast<A>(f(double(x)));
}

template <UnaryOp op, typename A>
AM_HOST_DEVICE inline A unary_scalar(A x) {
  constexpr bool fp = kFloatArith<A>;
  if constexpr (op == UnaryOp::Neg) {
    if constexpr (fp) return -x;  // not 0 - x, which loses the sign of zero
    else return wrap_sub(A(0), x);
  }
  else if constexpr (op == UnaryOp::Abs) {
    if constexpr (fp) return std::fabs(x);
    else return is_negative(x) ? wrap_sub(A(0), x) : x;
  } else if constexpr (op == UnaryOp::Exp) {
    if constexpr (fp) return std::exp(x); else return via_double(x, [](double v) { return std::exp(v); });
  } else if constexpr (op == UnaryOp::Log) {
    if constexpr (fp) return std::log(x); else return via_double(x, [](double v) { return std::log(v); });
  } else if constexpr (op == UnaryOp::Sqrt) {
    if constexpr (fp) return std::sqrt(x); else return via_double(x, [](double v) { return std::sqrt(v); });
  } else if constexpr (op == UnaryOp::Tanh) {
    if constexpr (fp) return std::tanh(x); else return via_double(x, [](double v) { return std::tanh(v); });
  } else if constexpr (op == UnaryOp::Sigmoid) {
    // exp(-x) overflows to inf for very negative x: 1 / inf = 0, never NaN.
    if constexpr (fp) return A(1) / (A(1) + std::exp(-x));
    else return via_double(x, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
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
    if constexpr (fp) return A(1) / std::sqrt(x);
    else return via_double(x, [](double v) { return 1.0 / std::sqrt(v); });
  } else if constexpr (op == UnaryOp::Sin) {
    if constexpr (fp) return std::sin(x); else return via_double(x, [](double v) { return std::sin(v); });
  } else if constexpr (op == UnaryOp::Cos) {
    if constexpr (fp) return std::cos(x); else return via_double(x, [](double v) { return std::cos(v); });
  } else if constexpr (op == UnaryOp::Floor) {
    if constexpr (fp) return std::floor(x); else return x;
  } else if constexpr (op == UnaryOp::Ceil) {
    if constexpr (fp) return std::ceil(x); else return x;
  } else if constexpr (op == UnaryOp::Round) {
    if constexpr (fp) return std::nearbyint(x); else return x;  // half to even, as NumPy
  } else {
    static_assert(op == UnaryOp::LogicalNot);
    return A(x == A(0));
  }
}

// Floor division and Python's modulo (the result takes the divisor's sign).
template <typename A>
AM_HOST_DEVICE inline A floor_div(A a, A b) {
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
AM_HOST_DEVICE inline A python_mod(A a, A b) {
  if constexpr (kFloatArith<A>) {
    A r = std::fmod(a, b);
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
template <typename A> AM_HOST_DEVICE inline A nan_maximum(A a, A b) { return (a > b || a != a) ? a : b; }
template <typename A> AM_HOST_DEVICE inline A nan_minimum(A a, A b) { return (a < b || a != a) ? a : b; }

// The result type of op on arithmetic type A: bool for comparisons and logical ops.
template <BinaryOp op, typename A>
using binary_result_t = std::conditional_t<is_comparison(op), bool, A>;

template <BinaryOp op, typename A>
AM_HOST_DEVICE inline binary_result_t<op, A> binary_scalar(A a, A b) {
  if constexpr (op == BinaryOp::Add) return wrap_add(a, b);
  else if constexpr (op == BinaryOp::Sub) return wrap_sub(a, b);
  else if constexpr (op == BinaryOp::Mul) return wrap_mul(a, b);
  else if constexpr (op == BinaryOp::Div) return floor_div(a, b);
  else if constexpr (op == BinaryOp::Pow) {
    if constexpr (kFloatArith<A>) return std::pow(a, b); else return int_pow(a, b);
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

// clamp: min(max(x, lo), hi) in clamp_t<T> (bool clamps as bool; a NaN x stays NaN).
template <typename T>
using clamp_t = std::conditional_t<std::is_same_v<T, bool>, bool, acc_t<T>>;
template <typename T>
AM_HOST_DEVICE inline T clamp_scalar(T x, clamp_t<T> lo, clamp_t<T> hi) {
  const clamp_t<T> v = clamp_t<T>(x), y = v < lo ? lo : v;
  return T(y > hi ? hi : y);
}

// The host-side conversions of a Scalar argument to an element value.

// A fill value as element type T.
template <typename T>
T scalar_as(const Scalar& value) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return T(value.to<float>());
  else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return value.kind == Scalar::Kind::Float ? saturate_cast<T>(value.f) : T(value.i);
  else return value.to<T>();
}

// A clamp bound as clamp_t<T>. For an integer type: the nearest representable value on the
// inside of the bound (ceil for lo, floor for hi), saturated to its range; an infinite bound is
// no bound.
template <typename T>
clamp_t<T> clamp_bound(const Scalar& bound, bool is_lo) {
  using A = clamp_t<T>;
  if constexpr (std::is_floating_point_v<A>) {
    return bound.to<A>();
  } else if constexpr (std::is_same_v<A, bool>) {
    return is_lo ? bound.to<double>() > 0 : bound.to<double>() >= 1;
  } else {
    constexpr A kMin = std::numeric_limits<A>::min(), kMax = std::numeric_limits<A>::max();
    if (bound.kind != Scalar::Kind::Float) {
      if (bound.i <= int64_t(kMin)) return kMin;
      if (std::is_unsigned_v<A> ? bound.i >= 0 && uint64_t(bound.i) >= uint64_t(kMax) : bound.i >= int64_t(kMax)) return kMax;
      return A(bound.i);
    }
    double f = is_lo ? std::ceil(bound.f) : std::floor(bound.f);
    if (f != f || f <= double(kMin)) return f != f && !is_lo ? kMax : kMin;
    if (f >= double(kMax)) return kMax;
    return A(f);
  }
}

// visit_unary_op(op, [&](auto tag) { constexpr UnaryOp o = decltype(tag)::value; ... })
template <UnaryOp op> using UnaryTag = std::integral_constant<UnaryOp, op>;
template <BinaryOp op> using BinaryTag = std::integral_constant<BinaryOp, op>;

template <typename F>
decltype(auto) visit_unary_op(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::Neg: return f(UnaryTag<UnaryOp::Neg>{});
    case UnaryOp::Abs: return f(UnaryTag<UnaryOp::Abs>{});
    case UnaryOp::Exp: return f(UnaryTag<UnaryOp::Exp>{});
    case UnaryOp::Log: return f(UnaryTag<UnaryOp::Log>{});
    case UnaryOp::Sqrt: return f(UnaryTag<UnaryOp::Sqrt>{});
    case UnaryOp::Tanh: return f(UnaryTag<UnaryOp::Tanh>{});
    case UnaryOp::Sigmoid: return f(UnaryTag<UnaryOp::Sigmoid>{});
    case UnaryOp::Relu: return f(UnaryTag<UnaryOp::Relu>{});
    case UnaryOp::Sign: return f(UnaryTag<UnaryOp::Sign>{});
    case UnaryOp::Square: return f(UnaryTag<UnaryOp::Square>{});
    case UnaryOp::Reciprocal: return f(UnaryTag<UnaryOp::Reciprocal>{});
    case UnaryOp::Rsqrt: return f(UnaryTag<UnaryOp::Rsqrt>{});
    case UnaryOp::Sin: return f(UnaryTag<UnaryOp::Sin>{});
    case UnaryOp::Cos: return f(UnaryTag<UnaryOp::Cos>{});
    case UnaryOp::Floor: return f(UnaryTag<UnaryOp::Floor>{});
    case UnaryOp::Ceil: return f(UnaryTag<UnaryOp::Ceil>{});
    case UnaryOp::Round: return f(UnaryTag<UnaryOp::Round>{});
    case UnaryOp::LogicalNot: break;
  }
  return f(UnaryTag<UnaryOp::LogicalNot>{});
}

template <typename F>
decltype(auto) visit_binary_op(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f(BinaryTag<BinaryOp::Add>{});
    case BinaryOp::Sub: return f(BinaryTag<BinaryOp::Sub>{});
    case BinaryOp::Mul: return f(BinaryTag<BinaryOp::Mul>{});
    case BinaryOp::Div: return f(BinaryTag<BinaryOp::Div>{});
    case BinaryOp::Pow: return f(BinaryTag<BinaryOp::Pow>{});
    case BinaryOp::Maximum: return f(BinaryTag<BinaryOp::Maximum>{});
    case BinaryOp::Minimum: return f(BinaryTag<BinaryOp::Minimum>{});
    case BinaryOp::Remainder: return f(BinaryTag<BinaryOp::Remainder>{});
    case BinaryOp::Eq: return f(BinaryTag<BinaryOp::Eq>{});
    case BinaryOp::Ne: return f(BinaryTag<BinaryOp::Ne>{});
    case BinaryOp::Lt: return f(BinaryTag<BinaryOp::Lt>{});
    case BinaryOp::Le: return f(BinaryTag<BinaryOp::Le>{});
    case BinaryOp::Gt: return f(BinaryTag<BinaryOp::Gt>{});
    case BinaryOp::Ge: return f(BinaryTag<BinaryOp::Ge>{});
    case BinaryOp::LogicalAnd: return f(BinaryTag<BinaryOp::LogicalAnd>{});
    case BinaryOp::LogicalOr: break;
  }
  return f(BinaryTag<BinaryOp::LogicalOr>{});
}

}  // namespace aimass::scalar_ops

// The CPU and CUDA kernels call these rules unqualified.
namespace aimass::cpu { using namespace scalar_ops; }
namespace aimass::gpu { using namespace scalar_ops; }
