// Fused optimizer steps and the gradient scale-and-norm pass on CPU. Each algorithm is one
// loop that reads param, grad and state once and writes param and state once (no temporaries),
// so a step runs at memory speed. The loops are `omp simd` and compiled three times (AVX-512,
// AVX2, baseline: target attributes), the variant picked by cpu_isa(). Parameters are
// cut into chunks and the chunks of every parameter share one parallel_for, so many small
// tensors and a few large ones both keep the pool busy.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/cpu_isa.h"
#include "core/parallel.h"
#include "ops/kernels/optim.h"

// Vectorising sqrt needs -fno-math-errno, which csrc/CMakeLists.txt sets for this file.
#define AM_INLINE inline __attribute__((always_inline))

namespace aimass::cpu {

namespace {

// The reference formulas (PyTorch's torch.optim, single-tensor form), per element; T is the
// element type, the per-tensor scalars are precomputed in it.
template <typename T>
struct Scalars {
  T lr, wd, decay;  // decay: 1 - lr * wd (decoupled weight decay)
  T b1, b2, one_minus_b1, one_minus_b2, eps;
  T step_size, inv_sqrt_bc2;  // Adam: lr / (1 - b1^t), 1 / sqrt(1 - b2^t); Adagrad: step_size = clr
  T momentum, one_minus_dampening, alpha, one_minus_alpha;
};

// p: param, g: grad, s0..s2: state (see ops/kernels.h for which is which).
template <typename T, bool Decay, bool Momentum, bool Nesterov, bool Fresh>
AM_INLINE void sgd_loop(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const Scalars<T>& c) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if constexpr (Decay) d += c.wd * p[i];
    if constexpr (Momentum) {
      T b = Fresh ? d : c.momentum * buf[i] + c.one_minus_dampening * d;
      buf[i] = b;
      d = Nesterov ? d + c.momentum * b : b;
    }
    p[i] -= c.lr * d;
  }
}

template <typename T, bool Decay, bool Decoupled, bool Ams>
AM_INLINE void adam_loop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
                         T* __restrict vmax, int64_t n, const Scalars<T>& c) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T pi = p[i], d = g[i];
    if constexpr (Decoupled) pi *= c.decay;
    else if constexpr (Decay) d += c.wd * pi;
    T mi = c.b1 * m[i] + c.one_minus_b1 * d;
    T vi = c.b2 * v[i] + c.one_minus_b2 * d * d;
    m[i] = mi;
    v[i] = vi;
    if constexpr (Ams) {
      vi = vi > vmax[i] ? vi : vmax[i];
      vmax[i] = vi;
    }
    p[i] = pi - c.step_size * mi / (std::sqrt(vi) * c.inv_sqrt_bc2 + c.eps);
  }
}

template <typename T, bool Decay, bool Momentum, bool Centered>
AM_INLINE void rmsprop_loop(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict buf,
                            T* __restrict ga, int64_t n, const Scalars<T>& c) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if constexpr (Decay) d += c.wd * p[i];
    T s = c.alpha * sq[i] + c.one_minus_alpha * d * d;
    sq[i] = s;
    T avg;
    if constexpr (Centered) {
      T a = c.alpha * ga[i] + c.one_minus_alpha * d;
      ga[i] = a;
      avg = std::sqrt(s - a * a) + c.eps;
    } else {
      avg = std::sqrt(s) + c.eps;
    }
    if constexpr (Momentum) {
      T b = c.momentum * buf[i] + d / avg;
      buf[i] = b;
      p[i] -= c.lr * b;
    } else {
      p[i] -= c.lr * d / avg;
    }
  }
}

template <typename T, bool Decay>
AM_INLINE void adagrad_loop(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n,
                            const Scalars<T>& c) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i];
    if constexpr (Decay) d += c.wd * p[i];
    T s = sum[i] + d * d;
    sum[i] = s;
    p[i] -= c.step_size * d / (std::sqrt(s) + c.eps);
  }
}

template <typename T>
AM_INLINE void lion_loop(T* __restrict p, const T* __restrict g, T* __restrict m, int64_t n, const Scalars<T>& c) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    T d = g[i], mi = m[i];
    T u = c.b1 * mi + c.one_minus_b1 * d;
    T sign = u > T(0) ? T(1) : (u < T(0) ? T(-1) : T(0));
    p[i] = p[i] * c.decay - c.lr * sign;
    m[i] = c.b2 * mi + c.one_minus_b2 * d;
  }
}

// One chunk [lo, hi) of one parameter: the option flags become template arguments here, so
// each loop above is branch-free.
template <typename T>
AM_INLINE void update_range(OptimAlgo algo, const OptimHyper& hp, const OptimParam& op, const Scalars<T>& c,
                            int64_t lo, int64_t hi) {
  T* p = op.param.data<T>() + lo;
  const T* g = op.grad.data<T>() + lo;
  auto st = [&](int k) { return op.state[k].defined() ? op.state[k].data<T>() + lo : nullptr; };
  const int64_t n = hi - lo;
  const bool decay = hp.weight_decay != 0;
  switch (algo) {
    case OptimAlgo::SGD:
      if (hp.momentum == 0) {
        decay ? sgd_loop<T, true, false, false, false>(p, g, nullptr, n, c)
              : sgd_loop<T, false, false, false, false>(p, g, nullptr, n, c);
      } else if (op.fresh) {
        hp.nesterov ? (decay ? sgd_loop<T, true, true, true, true>(p, g, st(0), n, c)
                             : sgd_loop<T, false, true, true, true>(p, g, st(0), n, c))
                    : (decay ? sgd_loop<T, true, true, false, true>(p, g, st(0), n, c)
                             : sgd_loop<T, false, true, false, true>(p, g, st(0), n, c));
      } else {
        hp.nesterov ? (decay ? sgd_loop<T, true, true, true, false>(p, g, st(0), n, c)
                             : sgd_loop<T, false, true, true, false>(p, g, st(0), n, c))
                    : (decay ? sgd_loop<T, true, true, false, false>(p, g, st(0), n, c)
                             : sgd_loop<T, false, true, false, false>(p, g, st(0), n, c));
      }
      break;
    case OptimAlgo::Adam:
      if (hp.decoupled_weight_decay) {
        hp.amsgrad ? adam_loop<T, false, true, true>(p, g, st(0), st(1), st(2), n, c)
                   : adam_loop<T, false, true, false>(p, g, st(0), st(1), st(2), n, c);
      } else if (decay) {
        hp.amsgrad ? adam_loop<T, true, false, true>(p, g, st(0), st(1), st(2), n, c)
                   : adam_loop<T, true, false, false>(p, g, st(0), st(1), st(2), n, c);
      } else {
        hp.amsgrad ? adam_loop<T, false, false, true>(p, g, st(0), st(1), st(2), n, c)
                   : adam_loop<T, false, false, false>(p, g, st(0), st(1), st(2), n, c);
      }
      break;
    case OptimAlgo::RMSprop: {
      const bool mom = hp.momentum > 0;
      if (hp.centered) {
        mom ? (decay ? rmsprop_loop<T, true, true, true>(p, g, st(0), st(1), st(2), n, c)
                     : rmsprop_loop<T, false, true, true>(p, g, st(0), st(1), st(2), n, c))
            : (decay ? rmsprop_loop<T, true, false, true>(p, g, st(0), st(1), st(2), n, c)
                     : rmsprop_loop<T, false, false, true>(p, g, st(0), st(1), st(2), n, c));
      } else {
        mom ? (decay ? rmsprop_loop<T, true, true, false>(p, g, st(0), st(1), st(2), n, c)
                     : rmsprop_loop<T, false, true, false>(p, g, st(0), st(1), st(2), n, c))
            : (decay ? rmsprop_loop<T, true, false, false>(p, g, st(0), st(1), st(2), n, c)
                     : rmsprop_loop<T, false, false, false>(p, g, st(0), st(1), st(2), n, c));
      }
      break;
    }
    case OptimAlgo::Adagrad:
      decay ? adagrad_loop<T, true>(p, g, st(0), n, c) : adagrad_loop<T, false>(p, g, st(0), n, c);
      break;
    case OptimAlgo::Lion:
      lion_loop<T>(p, g, st(0), n, c);
      break;
  }
}

// The per-ISA variants of one chunk's update: the same loops, inlined into each and vectorised
// at its width.
template <typename T>
void update_baseline(OptimAlgo algo, const OptimHyper& hp, const OptimParam& op, const Scalars<T>& c, int64_t lo,
                     int64_t hi) {
  update_range<T>(algo, hp, op, c, lo, hi);
}
template <typename T>
AM_TARGET_AVX2 void update_avx2(OptimAlgo algo, const OptimHyper& hp, const OptimParam& op, const Scalars<T>& c,
                                int64_t lo, int64_t hi) {
  update_range<T>(algo, hp, op, c, lo, hi);
}
template <typename T>
AM_TARGET_AVX512 void update_avx512(OptimAlgo algo, const OptimHyper& hp, const OptimParam& op, const Scalars<T>& c,
                                    int64_t lo, int64_t hi) {
  update_range<T>(algo, hp, op, c, lo, hi);
}

template <typename T>
void update(CpuIsa isa, OptimAlgo algo, const OptimHyper& hp, const OptimParam& op, const Scalars<T>& c, int64_t lo,
            int64_t hi) {
  switch (isa) {
    case CpuIsa::Avx512: return update_avx512<T>(algo, hp, op, c, lo, hi);
    case CpuIsa::Avx2: return update_avx2<T>(algo, hp, op, c, lo, hi);
    case CpuIsa::Baseline: return update_baseline<T>(algo, hp, op, c, lo, hi);
  }
}

// The step-dependent scalars of one parameter, computed in double and rounded once.
template <typename T>
Scalars<T> scalars(OptimAlgo algo, const OptimHyper& hp, int64_t step) {
  Scalars<T> c{};
  c.lr = T(hp.lr);
  c.wd = T(hp.weight_decay);
  c.decay = T(1 - hp.lr * hp.weight_decay);
  c.b1 = T(hp.beta1);
  c.b2 = T(hp.beta2);
  c.one_minus_b1 = T(1 - hp.beta1);
  c.one_minus_b2 = T(1 - hp.beta2);
  c.eps = T(hp.eps);
  c.momentum = T(hp.momentum);
  c.one_minus_dampening = T(1 - hp.dampening);
  c.alpha = T(hp.alpha);
  c.one_minus_alpha = T(1 - hp.alpha);
  const double t = double(step);
  if (algo == OptimAlgo::Adam) {
    c.step_size = T(hp.lr / (1 - std::pow(hp.beta1, t)));
    c.inv_sqrt_bc2 = T(1 / std::sqrt(1 - std::pow(hp.beta2, t)));
  } else if (algo == OptimAlgo::Adagrad) {
    c.step_size = T(hp.lr / (1 + (t - 1) * hp.lr_decay));
  }
  return c;
}

// Chunks small enough to balance two threads over a few large tensors, large enough that the
// loop overhead vanishes (256K elements: 1 MiB of float32 per stream).
constexpr int64_t kChunk = int64_t(1) << 18;

struct Chunk {
  int32_t param;
  int64_t lo, hi;
};

}  // namespace

void optim_step(OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params) {
  std::vector<Chunk> chunks;
  std::vector<Scalars<float>> c32(params.size());
  std::vector<Scalars<double>> c64(params.size());
  for (size_t k = 0; k < params.size(); ++k) {
    const int64_t n = params[k].param.numel();
    for (int64_t lo = 0; lo < n; lo += kChunk) chunks.push_back({int32_t(k), lo, std::min(n, lo + kChunk)});
    if (params[k].param.dtype() == DType::Float64) c64[k] = scalars<double>(algo, hp, params[k].step);
    else c32[k] = scalars<float>(algo, hp, params[k].step);
  }
  const CpuIsa isa = cpu_isa_at("optim_step");
  // A chunk is already a kElementwiseGrain of work: two of them are worth a second thread.
  parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Chunk& ch = chunks[i];
      const OptimParam& op = params[ch.param];
      if (op.param.dtype() == DType::Float64) update<double>(isa, algo, hp, op, c64[ch.param], ch.lo, ch.hi);
      else update<float>(isa, algo, hp, op, c32[ch.param], ch.lo, ch.hi);
    }
  });
}

namespace {

template <typename T>
AM_INLINE double scale_range(T* x, int64_t n, double scale) {
  double sum = 0;
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * double(x[i]);
    if (scale != 1) {
      const T s = T(scale);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] *= s;
    }
  } else {  // float16 / bfloat16: through float32
    for (int64_t i = 0; i < n; ++i) {
      float v = float(x[i]);
      sum += double(v) * double(v);
      if (scale != 1) x[i] = T(float(double(v) * scale));
    }
  }
  return sum;
}

AM_INLINE double scale_chunk_any(const Tensor& g, int64_t lo, int64_t hi, double scale) {
  switch (g.dtype()) {
    case DType::Float64: return scale_range(g.data<double>() + lo, hi - lo, scale);
    case DType::Float16: return scale_range(g.data<Half>() + lo, hi - lo, scale);
    case DType::BFloat16: return scale_range(g.data<BFloat16>() + lo, hi - lo, scale);
    default: return scale_range(g.data<float>() + lo, hi - lo, scale);
  }
}
double scale_chunk_baseline(const Tensor& g, int64_t lo, int64_t hi, double scale) {
  return scale_chunk_any(g, lo, hi, scale);
}
AM_TARGET_AVX2 double scale_chunk_avx2(const Tensor& g, int64_t lo, int64_t hi, double scale) {
  return scale_chunk_any(g, lo, hi, scale);
}
AM_TARGET_AVX512 double scale_chunk_avx512(const Tensor& g, int64_t lo, int64_t hi, double scale) {
  return scale_chunk_any(g, lo, hi, scale);
}

double scale_chunk(CpuIsa isa, const Tensor& g, int64_t lo, int64_t hi, double scale) {
  switch (isa) {
    case CpuIsa::Avx512: return scale_chunk_avx512(g, lo, hi, scale);
    case CpuIsa::Avx2: return scale_chunk_avx2(g, lo, hi, scale);
    case CpuIsa::Baseline: break;
  }
  return scale_chunk_baseline(g, lo, hi, scale);
}

}  // namespace

double grad_scale(const std::vector<Tensor>& grads, double scale) {
  std::vector<Chunk> chunks;
  for (size_t k = 0; k < grads.size(); ++k) {
    const int64_t n = grads[k].numel();
    for (int64_t lo = 0; lo < n; lo += kChunk) chunks.push_back({int32_t(k), lo, std::min(n, lo + kChunk)});
  }
  // Each chunk's partial sum in its own slot, added in order: the result does not depend on
  // how the pool split the work.
  std::vector<double> partial(chunks.size(), 0.0);
  const CpuIsa isa = cpu_isa_at("grad_scale");
  parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      partial[i] = scale_chunk(isa, grads[chunks[i].param], chunks[i].lo, chunks[i].hi, scale);
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace aimass::cpu
