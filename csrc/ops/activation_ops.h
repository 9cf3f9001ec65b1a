// The element rules of the activations (ActivationOp, ops/kernels/activation.h) and their derivatives: the
// reference that the CPU float64 loops and the CUDA kernels run. The CPU float32 loops
// (cpu/simd/simd_kernels.cpp) follow the same formulas with the SIMD table's exp / tanh.
// T is float or double.
#pragma once
#include <cmath>

#include "core/dtype.h"  // AM_HOST_DEVICE
#include "ops/kernels/activation.h"

namespace aimass::activation_ops {

constexpr double kSqrtHalf = 0.70710678118654752440;     // 1 / sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;   // 1 / sqrt(2 pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
constexpr double kGeluCubic = 0.044715;

// Phi(x), the standard normal CDF, as erfc(-x / sqrt 2) / 2: erfc keeps its relative precision
// in the left tail, where 1 + erf(x / sqrt 2) would cancel.
template <typename T>
AM_HOST_DEVICE inline T normal_cdf(T x) {
  return T(0.5) * std::erfc(-x * T(kSqrtHalf));
}

template <ActivationOp op, typename T>
AM_HOST_DEVICE inline T activation(T x, T param) {
  if constexpr (op == ActivationOp::Gelu) {
    return x * normal_cdf(x);
  } else if constexpr (op == ActivationOp::GeluTanh) {  // PyTorch's approximate="tanh"
    const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(u));
  } else if constexpr (op == ActivationOp::Silu) {
    return x / (T(1) + std::exp(-x));
  } else {
    return x > T(0) ? x : x * param;
  }
}

// d activation / dx.
template <ActivationOp op, typename T>
AM_HOST_DEVICE inline T activation_derivative(T x, T param) {
  if constexpr (op == ActivationOp::Gelu) {
    return normal_cdf(x) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
  } else if constexpr (op == ActivationOp::GeluTanh) {
    const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    const T t = std::tanh(u);
    const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du;
  } else if constexpr (op == ActivationOp::Silu) {
    const T s = T(1) / (T(1) + std::exp(-x));
    return s * (T(1) + x * (T(1) - s));
  } else {
    return x > T(0) ? T(1) : param;
  }
}

template <ActivationOp op>
struct ActivationTag {
  static constexpr ActivationOp value = op;
};

// visit_activation(op, [&](auto tag) { constexpr ActivationOp o = decltype(tag)::value; ... })
template <typename F>
AM_HOST_DEVICE decltype(auto) visit_activation(ActivationOp op, F&& f) {
  switch (op) {
    case ActivationOp::Gelu: return f(ActivationTag<ActivationOp::Gelu>{});
    case ActivationOp::GeluTanh: return f(ActivationTag<ActivationOp::GeluTanh>{});
    case ActivationOp::Silu: return f(ActivationTag<ActivationOp::Silu>{});
    default: return f(ActivationTag<ActivationOp::LeakyRelu>{});
  }
}

}  // namespace aimass::activation_ops
