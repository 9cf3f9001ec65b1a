// The element rules of the pointwise losses (formulas in ops/kernels/loss.h), AM_HOST_DEVICE so that
// the CPU kernel (cpu/loss.cpp) and the CUDA kernel (cuda/loss.cu) run the same code.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "ops/kernels/loss.h"

namespace aimass::loss_rules {

template <typename T>
struct Operands {
  const T* x;
  const T* t;
  const T* w;   // BceWithLogits: weight, or null
  const T* pw;  // BceWithLogits: pos_weight, or null
  T param;      // Huber: delta
};

// The operands of one kernel call (host side): undefined weight tensors become null pointers.
template <typename T>
Operands<T> operands(const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                     double param) {
  return {input.data<T>(), target.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
          pos_weight.defined() ? pos_weight.data<T>() : nullptr, T(param)};
}

// The transcendental part of element i's rule, split out so that the CPU can compute it for a
// chunk of elements at once with the SIMD table (the CUDA kernels call aux_of inline):
//   BceWithLogits: log1p(exp(-|x|)) (forward), exp(-|x|) (backward); KlDiv: log t;
//   KlDivLogTarget: exp(t); the other kinds need none.
template <LossKind K>
constexpr bool kHasAux = K == LossKind::BceWithLogits || K == LossKind::KlDiv || K == LossKind::KlDivLogTarget;

template <LossKind K, typename T>
AM_HOST_DEVICE inline T aux_of(T x, T t, bool backward) {
  if constexpr (K == LossKind::BceWithLogits) {
    const T e = std::exp(-std::fabs(x));
    return backward ? e : std::log1p(e);
  } else if constexpr (K == LossKind::KlDiv) {
    return std::log(t);
  } else if constexpr (K == LossKind::KlDivLogTarget) {
    return std::exp(t);
  } else {
    return T(0);
  }
}

// The loss of element i, given its aux_of(.., backward = false). Branch-free where it can be,
// so that the CPU loops vectorise.
template <LossKind K, typename T>
AM_HOST_DEVICE inline T loss_at(const Operands<T>& a, int64_t i, T aux) {
  const T x = a.x[i], t = a.t[i];
  if constexpr (K == LossKind::Mse) {
    return (x - t) * (x - t);
  } else if constexpr (K == LossKind::L1) {
    return std::fabs(x - t);
  } else if constexpr (K == LossKind::Huber) {
    // m = min(|d|, delta): m (|d| - m / 2) is d^2 / 2 inside delta and delta (|d| - delta / 2) outside.
    const T d = std::fabs(x - t);
    const T m = d < a.param ? d : a.param;
    return m * (d - T(0.5) * m);
  } else if constexpr (K == LossKind::BceWithLogits) {
    // (1 - t) x + lw softplus(-x) with softplus(-x) = log1p(exp(-|x|)) - min(x, 0): no overflow, and
    // no cancellation for hard targets (t = 0, x < 0 gives x - x = 0 exactly plus the small term).
    const T log_weight = a.pw ? T(1) + (a.pw[i] - T(1)) * t : T(1);
    const T l = (T(1) - t) * x - log_weight * (x < T(0) ? x : T(0)) + log_weight * aux;
    return a.w ? a.w[i] * l : l;
  } else if constexpr (K == LossKind::KlDiv) {
    return t == T(0) ? T(0) : t * (aux - x);  // 0 log 0 = 0
  } else {
    return aux * (t - x);
  }
}

// dl/dx and dl/dt of element i, given its aux_of(.., backward = true).
template <LossKind K, typename T>
AM_HOST_DEVICE inline void derivatives_at(const Operands<T>& a, int64_t i, T aux, T& dx, T& dt) {
  const T x = a.x[i], t = a.t[i];
  if constexpr (K == LossKind::Mse) {
    dx = T(2) * (x - t);
    dt = -dx;
  } else if constexpr (K == LossKind::L1) {
    const T d = x - t;
    dx = T(d > T(0)) - T(d < T(0));
    dt = -dx;
  } else if constexpr (K == LossKind::Huber) {
    const T d = x - t;
    const T upper = d < a.param ? d : a.param;
    dx = upper > -a.param ? upper : -a.param;
    dt = -dx;
  } else if constexpr (K == LossKind::BceWithLogits) {
    // (1 - t) - lw sigmoid(-x), written with s = sigmoid(-|x|) so hard targets do not cancel.
    const T s = aux / (T(1) + aux);
    const T log_weight = a.pw ? T(1) + (a.pw[i] - T(1)) * t : T(1);
    dx = (x < T(0) ? T(1) - t - log_weight : T(1) - t) + (x < T(0) ? log_weight : -log_weight) * s;
    if (a.w) dx *= a.w[i];
    dt = T(0);
  } else if constexpr (K == LossKind::KlDiv) {
    dx = -t;
    dt = aux + T(1) - x;
  } else {
    dx = -aux;
    dt = aux * (t - x + T(1));
  }
}

// Calls f.template operator()<K>() for the run-time kind (host side): one instantiation per kind.
template <typename F>
inline void visit_kind(LossKind kind, F&& f) {
  switch (kind) {
    case LossKind::Mse: f.template operator()<LossKind::Mse>(); break;
    case LossKind::L1: f.template operator()<LossKind::L1>(); break;
    case LossKind::Huber: f.template operator()<LossKind::Huber>(); break;
    case LossKind::BceWithLogits: f.template operator()<LossKind::BceWithLogits>(); break;
    case LossKind::KlDiv: f.template operator()<LossKind::KlDiv>(); break;
    case LossKind::KlDivLogTarget: f.template operator()<LossKind::KlDivLogTarget>(); break;
  }
}

}  // namespace aimass::loss_rules
