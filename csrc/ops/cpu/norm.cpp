// Layer norm and batch norm, and their gradients (contracts in ops/kernels/norm.h).
// Layer norm: each row is the SIMD table's fused row pass (statistics, then the affine write),
// rows in parallel; the backward's weight / bias sums are per-task partials over a fixed split
// of the rows, added in task order, so the result does not depend on the thread timing.
// Batch norm: x seen as (N, C, S) planes of S values; per-channel sums accumulate in double in
// per-task partials over a split of the N * C planes, then one elementwise pass.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/row_ops.h"
#include "ops/cpu/simd/simd.h"
#include "ops/kernels/norm.h"

namespace aimass::cpu {

namespace {

void norm_row(const float* x, const float* w, const float* b, float* y, int64_t n, float eps, float* mean, float* rstd) {
  simd::kernels().layer_norm_row_f32(x, w, b, y, n, eps, mean, rstd);
}
void norm_row(const double* x, const double* w, const double* b, double* y, int64_t n, double eps, double* mean,
              double* rstd) {
  simd::kernels().layer_norm_row_f64(x, w, b, y, n, eps, mean, rstd);
}
void norm_row_backward(const float* dy, const float* x, const float* w, float mean, float rstd, float* dx, float* dw,
                       float* db, int64_t n) {
  simd::kernels().layer_norm_backward_row_f32(dy, x, w, mean, rstd, dx, dw, db, n);
}
void norm_row_backward(const double* dy, const double* x, const double* w, double mean, double rstd, double* dx,
                       double* dw, double* db, int64_t n) {
  simd::kernels().layer_norm_backward_row_f64(dy, x, w, mean, rstd, dx, dw, db, n);
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Splits [0, n) into `tasks` fixed ranges and runs fn(task, begin, end) for each, in parallel.
template <typename F>
void for_each_task(int64_t n, int64_t tasks, const F& fn) {
  parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) fn(t, n * t / tasks, n * (t + 1) / tasks);
  });
}

int64_t task_count(int64_t items, int64_t grain) {
  return std::clamp<int64_t>(items / std::max<int64_t>(grain, 1), 1, num_threads());
}

// ------------------------------------------------------------------ layer norm

// x, y: (R, D); mean, rstd: (R,).
template <typename T>
void layer_norm_rows(const T* x, const T* w, const T* b, T eps, T* y, T* mean, T* rstd, int64_t R, int64_t D) {
  parallel_for(0, R, std::max<int64_t>(1, kComputeGrain / D), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) norm_row(x + r * D, w, b, y + r * D, D, eps, mean + r, rstd + r);
  });
}

// dy, x, dx: (R, D); dw, db: (D,) or null (both or neither).
template <typename T>
void layer_norm_backward_rows(const T* dy, const T* x, const T* w, const T* mean, const T* rstd, T* dx, T* dw, T* db,
                              int64_t R, int64_t D) {
  const int64_t tasks = task_count(R, std::max<int64_t>(1, kComputeGrain / D));
  const bool partials = dw != nullptr;
  // Task t's partial sums: dw at [2 t D, (2 t + 1) D), db after it.
  std::vector<T> part(partials ? size_t(2 * tasks * D) : 0, T(0));
  for_each_task(R, tasks, [&](int64_t t, int64_t r0, int64_t r1) {
    T* pw = partials ? part.data() + 2 * t * D : nullptr;
    T* pb = partials ? pw + D : nullptr;
    for (int64_t r = r0; r < r1; ++r)
      norm_row_backward(dy + r * D, x + r * D, w, mean[r], rstd[r], dx + r * D, pw, pb, D);
  });
  if (!partials) return;
  std::fill(dw, dw + D, T(0));
  std::fill(db, db + D, T(0));
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t i = 0; i < D; ++i) {
      dw[i] += part[size_t(2 * t * D + i)];
      db[i] += part[size_t((2 * t + 1) * D + i)];
    }
}

// ------------------------------------------------------------------ batch norm

struct Planes {
  int64_t N, C, S;
};

Planes planes_of(const Tensor& x) { return {x.shape()[0], x.shape()[1], x.shape()[2]}; }

// K double sums per channel: plane_sums(p, plane, acc) adds plane p's (channel p % C) terms to
// acc[0..K). Returns (C, K) totals.
template <int K, typename T, typename F>
std::vector<double> channel_sums(const T* x, Planes s, const F& plane_sums) {
  const int64_t P = s.N * s.C;
  const int64_t tasks = task_count(P * s.S, kElementwiseGrain / 4);
  std::vector<double> part(size_t(tasks * s.C * K), 0.0);
  for_each_task(P, tasks, [&](int64_t t, int64_t p0, int64_t p1) {
    double* acc = part.data() + t * s.C * K;
    for (int64_t p = p0; p < p1; ++p) plane_sums(p, x + p * s.S, acc + (p % s.C) * K);
  });
  std::vector<double> total(size_t(s.C * K), 0.0);
  for (int64_t t = 0; t < tasks; ++t)
    for (int64_t i = 0; i < s.C * K; ++i) total[size_t(i)] += part[size_t(t * s.C * K + i)];
  return total;
}

template <typename T>
void batch_norm_stats_impl(const T* x, T* mean, T* var, Planes s) {
  const double M = double(s.N * s.S);
  std::vector<double> sums = channel_sums<1>(x, s, [&](int64_t, const T* plane, double* acc) {
    acc[0] += RowOps<T>::sum_as_double(plane, s.S);
  });
  std::vector<double> m(size_t(s.C));
  for (int64_t c = 0; c < s.C; ++c) m[size_t(c)] = sums[size_t(c)] / M;
  // A second pass over the centred values: no E[x^2] - E[x]^2 cancellation.
  std::vector<double> sq = channel_sums<1>(x, s, [&](int64_t p, const T* plane, double* acc) {
    const double mc = m[size_t(p % s.C)];
    double v = 0;
#pragma omp simd reduction(+ : v)
    for (int64_t i = 0; i < s.S; ++i) v += (double(plane[i]) - mc) * (double(plane[i]) - mc);
    acc[0] += v;
  });
  for (int64_t c = 0; c < s.C; ++c) {
    mean[c] = T(m[size_t(c)]);
    var[c] = T(sq[size_t(c)] / M);
  }
}

// y = (x - mean[c]) * scale[c] + shift[c] over the planes.
template <typename T>
void planes_affine(const T* x, const T* mean, const std::vector<T>& scale, const std::vector<T>& shift, T* y, Planes s) {
  const int64_t P = s.N * s.C;
  parallel_for(0, P, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(s.S, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % s.C;
      const T m = mean[c], k = scale[size_t(c)], b = shift[size_t(c)];
      const T* in = x + p * s.S;
      T* out = y + p * s.S;
#pragma omp simd
      for (int64_t i = 0; i < s.S; ++i) out[i] = (in[i] - m) * k + b;
    }
  });
}

template <typename T>
void batch_norm_apply_impl(const T* x, const T* mean, const T* invstd, const T* w, const T* b, T* y, Planes s) {
  std::vector<T> scale(size_t(s.C)), shift(size_t(s.C));
  for (int64_t c = 0; c < s.C; ++c) {
    scale[size_t(c)] = invstd[c] * (w ? w[c] : T(1));
    shift[size_t(c)] = b ? b[c] : T(0);
  }
  planes_affine(x, mean, scale, shift, y, s);
}

template <typename T>
void batch_norm_backward_impl(const T* dy, const T* x, const T* mean, const T* invstd, const T* w, bool training,
                              T* dx, T* dw, T* db, Planes s) {
  const double M = double(s.N * s.S);
  // Per channel: sum dy and sum dy * (x - mean).
  std::vector<double> sums = channel_sums<2>(x, s, [&](int64_t p, const T* plane, double* acc) {
    const T* g = dy + p * s.S;
    const double mc = double(mean[p % s.C]);
    double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t i = 0; i < s.S; ++i) {
      sg += double(g[i]);
      sgx += double(g[i]) * (double(plane[i]) - mc);
    }
    acc[0] += sg;
    acc[1] += sgx;
  });
  for (int64_t c = 0; c < s.C; ++c) {
    if (dw) dw[c] = T(sums[size_t(2 * c + 1)] * double(invstd[c]));
    if (db) db[c] = T(sums[size_t(2 * c)]);
  }
  // dx = k * (dy - a - (x - mean) * q): the batch's statistics depend on x (training), running
  // statistics do not (a = q = 0).
  std::vector<double> k(size_t(s.C)), a(size_t(s.C)), q(size_t(s.C));
  for (int64_t c = 0; c < s.C; ++c) {
    const double is = double(invstd[c]);
    k[size_t(c)] = is * (w ? double(w[c]) : 1.0);
    a[size_t(c)] = training ? sums[size_t(2 * c)] / M : 0.0;
    q[size_t(c)] = training ? is * is * sums[size_t(2 * c + 1)] / M : 0.0;
  }
  const int64_t P = s.N * s.C;
  parallel_for(0, P, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(s.S, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t c = p % s.C;
      const T kc = T(k[size_t(c)]), ac = T(a[size_t(c)]), qc = T(q[size_t(c)]), m = mean[c];
      const T* g = dy + p * s.S;
      const T* in = x + p * s.S;
      T* out = dx + p * s.S;
#pragma omp simd
      for (int64_t i = 0; i < s.S; ++i) out[i] = kc * (g[i] - ac - (in[i] - m) * qc);
    }
  });
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  if (x.dtype() == DType::Float64)
    layer_norm_rows(x.data<double>(), data_or_null<double>(weight), data_or_null<double>(bias), eps, y.data<double>(),
                    mean.data<double>(), rstd.data<double>(), R, D);
  else
    layer_norm_rows(x.data<float>(), data_or_null<float>(weight), data_or_null<float>(bias), float(eps),
                    y.data<float>(), mean.data<float>(), rstd.data<float>(), R, D);
}

void layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  // One pass fills both sums; a sum that is not wanted goes to scratch.
  const bool sums = grad_weight.defined() || grad_bias.defined();
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    std::vector<T> scratch(sums ? size_t(2 * D) : 0);
    T* dw = grad_weight.defined() ? grad_weight.data<T>() : scratch.data();
    T* db = grad_bias.defined() ? grad_bias.data<T>() : scratch.data() + D;
    layer_norm_backward_rows(grad_y.data<T>(), x.data<T>(), data_or_null<T>(weight), mean.data<T>(), rstd.data<T>(),
                             grad_x.data<T>(), sums ? dw : nullptr, sums ? db : nullptr, R, D);
  };
  if (x.dtype() == DType::Float64) run(static_cast<double*>(nullptr));
  else run(static_cast<float*>(nullptr));
}

void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var) {
  if (x.dtype() == DType::Float64) batch_norm_stats_impl(x.data<double>(), mean.data<double>(), var.data<double>(), planes_of(x));
  else batch_norm_stats_impl(x.data<float>(), mean.data<float>(), var.data<float>(), planes_of(x));
}

void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& y) {
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    batch_norm_apply_impl(x.data<T>(), mean.data<T>(), invstd.data<T>(), data_or_null<T>(weight),
                          data_or_null<T>(bias), y.data<T>(), planes_of(x));
  };
  if (x.dtype() == DType::Float64) run(static_cast<double*>(nullptr));
  else run(static_cast<float*>(nullptr));
}

void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                         const Tensor& weight, bool training, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias) {
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    batch_norm_backward_impl(grad_y.data<T>(), x.data<T>(), mean.data<T>(), invstd.data<T>(), data_or_null<T>(weight),
                             training, grad_x.data<T>(), grad_weight.defined() ? grad_weight.data<T>() : nullptr,
                             grad_bias.defined() ? grad_bias.data<T>() : nullptr, planes_of(x));
  };
  if (x.dtype() == DType::Float64) run(static_cast<double*>(nullptr));
  else run(static_cast<float*>(nullptr));
}

}  // namespace aimass::cpu
