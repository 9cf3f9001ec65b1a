// The element rules of the pointwise losses (formulas in ops/kernels.h), AM_HOST_DEVICE so that
// the CPU kernel (cpu/loss.cpp) and the CUDA kernel (cuda/loss.cu) run the same code.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/dtype.h"
#include "ops/kernels.h"

namespace aimass::loss_rules {

template <typename T>
struct Operands {
  const T* x;
  const T* t;
  const T* w;   // BceWithLogits: weight, or null
  const T* pw;  // BceWithLogits: pos_weight, or null
  T param;      // Huber: delta
};

// The loss of element i.
template <LossKind K, typename T>
AM_HOST_DEVICE inline T loss_at(const Operands<T>& a, int64_t i) {
  const T x = a.x[i], t = a.t[i];
  if constexpr (K == LossKind::Mse) {
    return (x - t) * (x - t);
  } else if constexpr (K == LossKind::L1) {
    return std::fabs(x - t);
  } else if constexpr (K == LossKind::Huber) {
    const T d = std::fabs(x - t);
    return d <= a.param ? T(0.5) * d * d : a.param * (d - T(0.5) * a.param);
  } else if constexpr (K == LossKind::BceWithLogits) {
    // (1 - t) x + lw softplus(-x) with softplus(-x) = log1p(exp(-|x|)) - min(x, 0): no overflow, and
    // no cancellation for hard targets (t = 0, x < 0 gives x - x = 0 exactly plus the small term).
    const T log_weight = a.pw ? T(1) + (a.pw[i] - T(1)) * t : T(1);
    const T l = (T(1) - t) * x - log_weight * (x < T(0) ? x : T(0)) +
                log_weight * std::log1p(std::exp(-std::fabs(x)));
    return a.w ? a.w[i] * l : l;
  } else if constexpr (K == LossKind::KlDiv) {
    return t == T(0) ? T(0) : t * (std::log(t) - x);  // 0 log 0 = 0
  } else {
    return std::exp(t) * (t - x);
  }
}

// dl/dx and dl/dt of element i.
template <LossKind K, typename T>
AM_HOST_DEVICE inline void derivatives_at(const Operands<T>& a, int64_t i, T& dx, T& dt) {
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
    dx = d > a.param ? a.param : (d < -a.param ? -a.param : d);
    dt = -dx;
  } else if constexpr (K == LossKind::BceWithLogits) {
    // (1 - t) - lw sigmoid(-x), written with s = sigmoid(-|x|) so hard targets do not cancel.
    const T e = std::exp(-std::fabs(x));
    const T s = e / (T(1) + e);
    const T log_weight = a.pw ? T(1) + (a.pw[i] - T(1)) * t : T(1);
    dx = x < T(0) ? (T(1) - t - log_weight) + log_weight * s : (T(1) - t) - log_weight * s;
    if (a.w) dx *= a.w[i];
    dt = T(0);
  } else if constexpr (K == LossKind::KlDiv) {
    dx = -t;
    dt = std::log(t) + T(1) - x;
  } else {
    const T e = std::exp(t);
    dx = -e;
    dt = e * (t - x + T(1));
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
