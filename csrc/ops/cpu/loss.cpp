// The CPU reference for the losses (ops/kernels/loss.h gives the formulas, ops/loss_rules.h the
// element rules shared with CUDA).
//   Pointwise losses (mse, l1, huber, bce with logits, kl_div): one fused pass. Reduced, each
//   fixed block of elements sums into its own double, and the blocks add up in order, so the
//   result does not depend on the thread count; nothing of size n is written. The backward is
//   one pass writing both gradients. The kind is a template argument: each loop is specialised
//   (and vectorised by the compiler where its math allows).
//   Distillation: rows of (R, C) logits, each row's two scaled log_softmaxes computed with the
//   SIMD table's loops while the row is in cache (as softmax.cpp); rows run in parallel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/row_ops.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/loss.h"
#include "ops/loss_rules.h"

namespace aimass::cpu {

namespace {

using loss_rules::derivatives_at;
using loss_rules::loss_at;
using loss_rules::Operands;
using loss_rules::operands;

constexpr bool cheap(LossKind k) { return k == LossKind::Mse || k == LossKind::L1 || k == LossKind::Huber; }

// Elements per block of a reduced sum: the unit of work and of the ordered final addition.
constexpr int64_t kBlock = int64_t(1) << 13;
// Elements whose transcendental parts are computed together (on the stack, in L1).
constexpr int64_t kChunk = 256;

// aux[j] = aux_of<K>(element i0 + j) for j < len, with the SIMD table's exp / log loops.
template <LossKind K, typename T>
void aux_chunk(const Operands<T>& a, int64_t i0, int64_t len, bool backward, T* aux) {
  using Ops = RowOps<T>;
  if constexpr (K == LossKind::BceWithLogits) {
    T u[kChunk], log_u[kChunk];
    for (int64_t j = 0; j < len; ++j) u[j] = -std::fabs(a.x[i0 + j]);
    Ops::unary(UnaryOp::Exp, u, aux, len);  // e = exp(-|x|)
    if (backward) return;
    // log1p(e) = log(u) e / (u - 1) with u = 1 + e (Goldberg): a few ulp, where log(1 + e)
    // alone rounds away an e below the epsilon; where u == 1, log1p(e) = e.
    for (int64_t j = 0; j < len; ++j) u[j] = T(1) + aux[j];
    Ops::unary(UnaryOp::Log, u, log_u, len);
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) {
      const T one = T(u[j] == T(1));
      aux[j] = log_u[j] * (aux[j] / ((u[j] - T(1)) + one)) + one * aux[j];
    }
  } else if constexpr (K == LossKind::KlDiv) {
    Ops::unary(UnaryOp::Log, a.t + i0, aux, len);
  } else if constexpr (K == LossKind::KlDivLogTarget) {
    Ops::unary(UnaryOp::Exp, a.t + i0, aux, len);
  }
}

// The losses of elements [i0, i1): written to out (per element), or, with out null, summed (in
// double, by the SIMD table) from a chunk-sized buffer into the return value.
template <LossKind K, typename T>
double loss_range(const Operands<T> a, int64_t i0, int64_t i1, T* out) {
  double acc = 0;
  for (int64_t c0 = i0; c0 < i1; c0 += kChunk) {
    const int64_t len = std::min(kChunk, i1 - c0);
    T aux[kChunk], buf[kChunk];
    if constexpr (loss_rules::kHasAux<K>) aux_chunk<K>(a, c0, len, false, aux);
    T* dst = out ? out + c0 : buf;
#pragma omp simd
    for (int64_t j = 0; j < len; ++j) dst[j] = loss_at<K>(a, c0 + j, loss_rules::kHasAux<K> ? aux[j] : T(0));
    if (!out) acc += RowOps<T>::sum_as_double(buf, len);
  }
  return acc;
}

template <LossKind K, typename T>
void forward(const Operands<T>& a, int64_t n, bool reduce, double scale, T* out) {
  const int64_t grain = cheap(K) ? kElementwiseGrain : kComputeGrain;
  if (!reduce) {
    parallel_for(0, n, grain, [&](int64_t i0, int64_t i1) { loss_range<K>(a, i0, i1, out); });
    return;
  }
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(size_t(blocks), 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, grain / kBlock), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b)
      partial[size_t(b)] = loss_range<K, T>(a, b * kBlock, std::min(n, (b + 1) * kBlock), nullptr);
  });
  double total = 0;
  for (double p : partial) total += p;
  *out = T(scale * total);
}

template <LossKind K, typename T>
void backward(const Operands<T> a, int64_t n, const T* g, int64_t g_step, T scale, T* gx, T* gt) {
  parallel_for(0, n, cheap(K) ? kElementwiseGrain : kComputeGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t c0 = i0; c0 < i1; c0 += kChunk) {
      const int64_t len = std::min(kChunk, i1 - c0);
      T aux[kChunk], dx[kChunk], dt[kChunk];
      if constexpr (loss_rules::kHasAux<K>) aux_chunk<K>(a, c0, len, true, aux);
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) {
        derivatives_at<K>(a, c0 + j, loss_rules::kHasAux<K> ? aux[j] : T(0), dx[j], dt[j]);
        const T s = scale * g[(c0 + j) * g_step];
        dx[j] *= s;
        dt[j] *= s;
      }
      if (gx) std::copy(dx, dx + len, gx + c0);
      if (gt) std::copy(dt, dt + len, gt + c0);
    }
  });
}

// ---- distillation

// out = log_softmax(x * scale) of one row; tmp is scratch of C elements.
template <typename T>
void scaled_log_softmax(const T* x, T scale, T* out, T* tmp, int64_t C) {
  using Ops = RowOps<T>;
  Ops::binary(BinaryOp::Mul, x, 1, &scale, 0, out, C);
  T shift = Ops::max(out, C);
  if (std::isinf(shift)) shift = shift > 0 ? shift : T(0);  // an all -inf row stays NaN
  Ops::binary(BinaryOp::Sub, out, 1, &shift, 0, out, C);
  Ops::unary(UnaryOp::Exp, out, tmp, C);
  T log_sum = T(std::log(Ops::sum_as_double(tmp, C)));
  Ops::binary(BinaryOp::Sub, out, 1, &log_sum, 0, out, C);
}

// sum_c p (log p - log q) with p = exp(lp); p[c] is left in p_out.
template <typename T>
double row_kl(const T* lp, const T* lq, T* p_out, int64_t C) {
  RowOps<T>::unary(UnaryOp::Exp, lp, p_out, C);
  double kl = 0;
  for (int64_t c = 0; c < C; ++c)
    if (p_out[c] != T(0)) kl += double(p_out[c]) * (double(lp[c]) - double(lq[c]));
  return kl;
}

template <typename T>
void distillation_rows(const T* s, const T* t, double temperature, const T* grad, T* loss, T* gs, T* gt, int64_t R,
                       int64_t C) {
  const T inv = T(1.0 / temperature);
  parallel_for(0, R, std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<T> buf(size_t(4 * C));
    T *lp = buf.data(), *lq = lp + C, *p = lq + C, *tmp = p + C;
    for (int64_t r = r0; r < r1; ++r) {
      scaled_log_softmax(t + r * C, inv, lp, tmp, C);
      scaled_log_softmax(s + r * C, inv, lq, tmp, C);
      const double kl = row_kl(lp, lq, p, C);
      if (loss) {
        loss[r] = T(temperature * temperature * kl);
        continue;
      }
      const double g = temperature * double(grad[r]);
      if (gs) {
        RowOps<T>::unary(UnaryOp::Exp, lq, tmp, C);  // q
        for (int64_t c = 0; c < C; ++c) gs[r * C + c] = T(g * (double(tmp[c]) - double(p[c])));
      }
      if (gt) {
        for (int64_t c = 0; c < C; ++c)
          gt[r * C + c] = p[c] == T(0) ? T(0) : T(g * double(p[c]) * (double(lp[c]) - double(lq[c]) - kl));
      }
    }
  });
}

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

void pointwise_loss(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                    const Tensor& pos_weight, double param, bool reduce, double scale, const Tensor& out) {
  const int64_t n = input.numel();
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const Operands<T> a = operands<T>(input, target, weight, pos_weight, param);
    loss_rules::visit_kind(kind, [&]<LossKind K>() { forward<K, T>(a, n, reduce, scale, out.data<T>()); });
  };
  if (input.dtype() == DType::Float64) run(double());
  else run(float());
}

void pointwise_loss_backward(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                             const Tensor& pos_weight, double param, const Tensor& grad, double scale,
                             const Tensor& grad_input, const Tensor& grad_target) {
  const int64_t n = input.numel();
  const int64_t g_step = grad.numel() == n ? 1 : 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const Operands<T> a = operands<T>(input, target, weight, pos_weight, param);
    loss_rules::visit_kind(kind, [&]<LossKind K>() {
      backward<K, T>(a, n, grad.data<T>(), g_step, T(scale), ptr_or_null<T>(grad_input), ptr_or_null<T>(grad_target));
    });
  };
  if (input.dtype() == DType::Float64) run(double());
  else run(float());
}

void distillation(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& loss) {
  const int64_t R = student.shape()[0], C = student.shape()[1];
  if (student.dtype() == DType::Float64)
    distillation_rows<double>(student.data<double>(), teacher.data<double>(), temperature, nullptr,
                              loss.data<double>(), nullptr, nullptr, R, C);
  else
    distillation_rows<float>(student.data<float>(), teacher.data<float>(), temperature, nullptr, loss.data<float>(),
                             nullptr, nullptr, R, C);
}

void distillation_backward(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& grad_loss,
                           const Tensor& grad_student, const Tensor& grad_teacher) {
  const int64_t R = student.shape()[0], C = student.shape()[1];
  if (student.dtype() == DType::Float64)
    distillation_rows<double>(student.data<double>(), teacher.data<double>(), temperature, grad_loss.data<double>(),
                              nullptr, ptr_or_null<double>(grad_student), ptr_or_null<double>(grad_teacher), R, C);
  else
    distillation_rows<float>(student.data<float>(), teacher.data<float>(), temperature, grad_loss.data<float>(),
                             nullptr, ptr_or_null<float>(grad_student), ptr_or_null<float>(grad_teacher), R, C);
}

}  // namespace aimass::cpu
