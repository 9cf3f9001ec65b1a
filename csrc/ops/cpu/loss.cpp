// The CPU reference for the losses (ops/kernels.h gives the formulas, ops/loss_rules.h the
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
#include "ops/kernels.h"
#include "ops/loss_rules.h"

namespace aimass::cpu {

namespace {

using loss_rules::derivatives_at;
using loss_rules::loss_at;
using loss_rules::Operands;

constexpr bool cheap(LossKind k) { return k == LossKind::Mse || k == LossKind::L1 || k == LossKind::Huber; }

// Elements per block of a reduced sum: the unit of work and of the ordered final addition.
constexpr int64_t kBlock = int64_t(1) << 13;

template <LossKind K, typename T>
void forward(const Operands<T>& a, int64_t n, bool reduce, double scale, T* out) {
  const int64_t grain = cheap(K) ? kElementwiseGrain : kComputeGrain;
  if (!reduce) {
    parallel_for(0, n, grain, [&](int64_t i0, int64_t i1) {
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) out[i] = loss_at<K>(a, i);
    });
    return;
  }
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(size_t(blocks), 0.0);
  parallel_for(0, blocks, std::max<int64_t>(1, grain / kBlock), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t i1 = std::min(n, (b + 1) * kBlock);
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = b * kBlock; i < i1; ++i) acc += double(loss_at<K>(a, i));
      partial[size_t(b)] = acc;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  *out = T(scale * total);
}

template <LossKind K, typename T>
void backward(const Operands<T>& a, int64_t n, const T* g, int64_t g_step, T scale, T* gx, T* gt) {
  parallel_for(0, n, cheap(K) ? kElementwiseGrain : kComputeGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T dx, dt;
      derivatives_at<K>(a, i, dx, dt);
      const T s = scale * g[i * g_step];
      if (gx) gx[i] = s * dx;
      if (gt) gt[i] = s * dt;
    }
  });
}

template <typename T>
Operands<T> operands(const Tensor& input, const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                     double param) {
  return {input.data<T>(), target.data<T>(), weight.defined() ? weight.data<T>() : nullptr,
          pos_weight.defined() ? pos_weight.data<T>() : nullptr, T(param)};
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
