// Cross-entropy over rows of a (N, C) matrix of logits, and its gradient. Each row's
// log_softmax is a few passes of the SIMD table's contiguous loops while it sits in cache
// (as in softmax.cpp); the weighted sums over classes accumulate in double. Rows run in parallel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/row_ops.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/softmax.h"

namespace aimass::cpu {

namespace {

// coef * logp, where a zero coefficient contributes 0 even against logp = -inf.
inline double term(double coef, double logp) { return coef != 0 ? coef * logp : 0.0; }

// The per-row description of the coefficients a[n, c] of ops/kernels/softmax.h.
template <typename T>
struct Coefs {
  const int64_t* hard = nullptr;  // (N,) or null
  const T* soft = nullptr;        // (N, C) or null
  const T* w = nullptr;           // (C,) or null
  int64_t C = 0;
  double eps = 0;
  int64_t ignore_index = -100;
  double w_total = 0;  // sum_c w[c]

  double weight(int64_t c) const { return w ? double(w[c]) : 1.0; }
  // a[n, c] for a soft row.
  double soft_coef(int64_t n, int64_t c) const {
    return weight(c) * ((1 - eps) * double(soft[n * C + c]) + eps / double(C));
  }
};

template <typename T>
int64_t grain(int64_t C) {
  return std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(C, 1));
}

template <typename T>
void forward_rows(const T* in, const Coefs<T>& k, T* loss, T* sample_weight, T* log_probs, int64_t N) {
  using Ops = RowOps<T>;
  const int64_t C = k.C;
  parallel_for(0, N, grain<T>(C), [&](int64_t r0, int64_t r1) {
    std::vector<T> scratch(static_cast<size_t>(C));
    for (int64_t n = r0; n < r1; ++n) {
      const T* x = in + n * C;
      T* lp = log_probs + n * C;
      // log_softmax as in softmax.cpp: (x - max) - log(sum exp(x - max)).
      T shift = Ops::max(x, C);
      if (std::isinf(shift)) shift = shift > 0 ? shift : T(0);
      Ops::binary(BinaryOp::Sub, x, 1, &shift, 0, lp, C);
      Ops::unary(UnaryOp::Exp, lp, scratch.data(), C);
      T log_sum = T(std::log(Ops::sum_as_double(scratch.data(), C)));
      Ops::binary(BinaryOp::Sub, lp, 1, &log_sum, 0, lp, C);

      double total = 0;
      if (k.hard) {
        int64_t y = k.hard[n];
        if (y == k.ignore_index) {
          loss[n] = T(0);
          sample_weight[n] = T(0);
          continue;
        }
        double wy = k.weight(y);
        total = term((1 - k.eps) * wy, double(lp[y]));
        if (k.eps != 0) {
          double s = 0;
          for (int64_t c = 0; c < C; ++c) s += term(k.weight(c), double(lp[c]));
          total += k.eps / double(C) * s;
        }
        sample_weight[n] = T(wy);
      } else {
        for (int64_t c = 0; c < C; ++c) total += term(k.soft_coef(n, c), double(lp[c]));
        sample_weight[n] = T(1);
      }
      loss[n] = T(-total);
    }
  });
}

template <typename T>
void backward_rows(const T* log_probs, const Coefs<T>& k, const T* grad_loss, T* grad, int64_t N) {
  using Ops = RowOps<T>;
  const int64_t C = k.C;
  parallel_for(0, N, grain<T>(C), [&](int64_t r0, int64_t r1) {
    for (int64_t n = r0; n < r1; ++n) {
      const T* lp = log_probs + n * C;
      T* g = grad + n * C;
      const double go = double(grad_loss[n]);
      if (k.hard && k.hard[n] == k.ignore_index) {
        std::fill(g, g + C, T(0));
        continue;
      }
      Ops::unary(UnaryOp::Exp, lp, g, C);  // softmax
      if (k.hard) {
        const int64_t y = k.hard[n];
        const double hit = (1 - k.eps) * k.weight(y), spread = k.eps / double(C);
        const double A = hit + spread * k.w_total;
        for (int64_t c = 0; c < C; ++c) g[c] = T(go * (A * double(g[c]) - spread * k.weight(c)));
        g[y] = T(double(g[y]) - go * hit);
      } else {
        double A = 0;
        for (int64_t c = 0; c < C; ++c) A += k.soft_coef(n, c);
        for (int64_t c = 0; c < C; ++c) g[c] = T(go * (A * double(g[c]) - k.soft_coef(n, c)));
      }
    }
  });
}

template <typename T>
Coefs<T> coefs(const Tensor& target, const Tensor& weight, int64_t C, double eps, int64_t ignore_index) {
  Coefs<T> k;
  if (target.dim() == 2) k.soft = target.data<T>();
  else k.hard = target.data<int64_t>();
  k.w = weight.defined() ? weight.data<T>() : nullptr;
  k.C = C;
  k.eps = eps;
  k.ignore_index = ignore_index;
  k.w_total = k.w ? RowOps<T>::sum_as_double(k.w, C) : double(C);
  return k;
}

}  // namespace

void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, double label_smoothing,
                   int64_t ignore_index, const Tensor& loss, const Tensor& sample_weight, const Tensor& log_probs) {
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  if (logits.dtype() == DType::Float64)
    forward_rows(logits.data<double>(), coefs<double>(target, weight, C, label_smoothing, ignore_index),
                 loss.data<double>(), sample_weight.data<double>(), log_probs.data<double>(), N);
  else
    forward_rows(logits.data<float>(), coefs<float>(target, weight, C, label_smoothing, ignore_index),
                 loss.data<float>(), sample_weight.data<float>(), log_probs.data<float>(), N);
}

void cross_entropy_backward(const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                            double label_smoothing, int64_t ignore_index, const Tensor& grad_loss,
                            const Tensor& grad_logits) {
  const int64_t N = log_probs.shape()[0], C = log_probs.shape()[1];
  if (log_probs.dtype() == DType::Float64)
    backward_rows(log_probs.data<double>(), coefs<double>(target, weight, C, label_smoothing, ignore_index),
                  grad_loss.data<double>(), grad_logits.data<double>(), N);
  else
    backward_rows(log_probs.data<float>(), coefs<float>(target, weight, C, label_smoothing, ignore_index),
                  grad_loss.data<float>(), grad_logits.data<float>(), N);
}

}  // namespace aimass::cpu
