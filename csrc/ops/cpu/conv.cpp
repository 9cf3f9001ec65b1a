// Convolution on the CPU: im2col + GEMM (blas_gemm.h: float32 on our AVX-512 kernel, else the
// BLAS). For sample n and group g,
//   cols (K = Cg*KH*KW, L = OH*OW): row (c, kh, kw) holds the input pixel each output pixel
//   sees through kernel tap (kh, kw) of channel c (0 in the padding);
//   out[n, g] (Og, L) = w[g] (Og, K) @ cols (+ bias per row).
// Backward: grad_w[g] += grad_out[n, g] (Og, L) @ cols^T (summed over the batch);
// dcols = w[g]^T (K, Og) @ grad_out[n, g], and col2im adds each dcols entry back onto the
// pixel it came from. A 1x1, stride-1, unpadded convolution has cols = x[n, g] (Cg, L) itself.
// cols covers a tile of output rows at a time, so its size stays bounded on large images.
// Whole samples run per pool thread with single-threaded GEMMs whenever there are enough of them
// to share out (or they are too small to thread inside); only a batch of a few big samples runs
// one sample at a time, im2col / col2im and the GEMM split over the pool. The BLAS always runs
// single-threaded (blas_gemm.h says why; a 3x3 64->64 32x32 batch-64 step with OpenBLAS's own
// threads: 100+ ms, seconds under load).
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/blas_gemm.h"
#include "ops/cpu/row_ops.h"
#include "ops/kernels/conv.h"

namespace aimass::cpu {

namespace {

// Multiply-adds per sample below which samples, not GEMMs, are spread over the threads.
constexpr int64_t kSmallConv = int64_t(1) << 22;
// Samples per thread from which big samples are spread over the threads too.
constexpr int64_t kSamplesPerThread = 2;
// Elements of one cols buffer: about 16 MiB of float32.
constexpr int64_t kColsLimit = int64_t(1) << 22;

struct Geometry {
  int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og, K, L;
  Conv2dParams p;
  bool direct;     // 1x1, stride 1, no padding: cols is x[n, g] itself
  int64_t tile_h;  // output rows per cols tile
};

Geometry geometry(const Tensor& x, const Tensor& w, const Tensor& out, const Conv2dParams& p) {
  Geometry g;
  g.N = x.shape()[0], g.C = x.shape()[1], g.H = x.shape()[2], g.W = x.shape()[3];
  g.O = w.shape()[0], g.KH = w.shape()[2], g.KW = w.shape()[3];
  g.OH = out.shape()[2], g.OW = out.shape()[3];
  g.G = p.groups, g.Cg = g.C / g.G, g.Og = g.O / g.G;
  g.K = g.Cg * g.KH * g.KW, g.L = g.OH * g.OW;
  g.p = p;
  g.direct = g.KH == 1 && g.KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 && p.pad_bottom == 0 &&
             p.pad_left == 0 && p.pad_right == 0;
  g.tile_h = g.direct ? g.OH : std::clamp<int64_t>(kColsLimit / std::max<int64_t>(1, g.K * g.OW), 1, g.OH);
  return g;
}

// One GEMM: on the pool when the samples run one at a time, else in the calling pool thread.
template <typename T>
void gemm(bool threaded, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  if (threaded) parallel_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc);
  else blas_gemm(ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc);
}

// c (M, N; row stride ldc) = a (M, K) @ b (K, N) + bias[i] on row i (bias may be null). Our
// float32 kernel adds the bias as it stores C; else C is filled with it and the GEMM adds onto
// it (an extra pass over the output: for a 1 -> 32 channel 3x3 conv, most of the time).
template <typename T>
void gemm_bias(bool threaded, int64_t M, int64_t N, int64_t K, const T* a, const T* b, const T* bias, T* c,
               int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    if (!threaded && bias && sgemm_avx512(false, false, M, N, K, a, K, b, N, 0.0f, c, ldc, bias)) return;
  for (int64_t i = 0; bias && i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, bias[i]);
  gemm<T>(threaded, false, false, M, N, K, a, K, b, N, bias ? T(1) : T(0), c, ldc);
}

bool by_sample(const Geometry& g) {
  return g.O * g.K * g.L < kSmallConv || g.N >= kSamplesPerThread * num_threads();
}

// Samples per pool chunk: enough multiply-adds to pay for a thread.
int64_t sample_grain(const Geometry& g) {
  return std::max<int64_t>(1, kSmallConv / std::max<int64_t>(1, g.O * g.K * g.L));
}

// Runs fn(r0, r1) over [0, n) on the pool when `threaded`, else inline.
template <typename F>
void maybe_parallel(bool threaded, int64_t n, int64_t grain, F&& fn) {
  if (threaded) parallel_for(0, n, grain, fn);
  else fn(0, n);
}

// For each cols row in [r0, r1) and output row oh in [oh0, oh1): the input row it reads (or
// -1 in the padding) and the output columns [lo, hi) whose input column lies inside the image.
// visit(r, c, ih, oh, iw0, lo, hi) does the copying; iw = iw0 + ow * stride_w.
template <typename F>
void for_each_cols_row(const Geometry& g, int64_t r0, int64_t r1, int64_t oh0, int64_t oh1, F&& visit) {
  const Conv2dParams& p = g.p;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r / (g.KH * g.KW), kh = (r / g.KW) % g.KH, kw = r % g.KW;
    const int64_t iw0 = kw * p.dilation_w - p.pad_left;
    // ow in [lo, hi) <=> 0 <= iw0 + ow * sw < W
    const int64_t lo = std::min(g.OW, iw0 >= 0 ? 0 : (-iw0 + p.stride_w - 1) / p.stride_w);
    const int64_t hi = std::max(lo, std::min(g.OW, iw0 >= g.W ? 0 : (g.W - iw0 + p.stride_w - 1) / p.stride_w));
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
      visit(r, c, ih >= 0 && ih < g.H ? ih : -1, oh - oh0, iw0, lo, hi);
    }
  }
}

// d[0, n) = s[0, n). Rows of a small image are a few dozen values, where a memcpy call per
// row cost more than the copy (im2col + memmove were ~10% of a small CNN's training step).
// (GCC would turn the loop back into a memcpy call.)
template <typename T>
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
inline void copy_short(const T* s, T* d, int64_t n) {
  if (n > 64) {
    std::memcpy(d, s, size_t(n) * sizeof(T));
    return;
  }
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}

// cols (K, (oh1 - oh0) * OW) from xg (Cg, H, W), output rows [oh0, oh1).
template <typename T>
void im2col(const Geometry& g, const T* xg, T* cols, int64_t oh0, int64_t oh1, bool threaded) {
  const int64_t Lt = (oh1 - oh0) * g.OW, sw = g.p.stride_w;
  maybe_parallel(threaded, g.K, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, Lt)),
                 [&](int64_t r0, int64_t r1) {
    for_each_cols_row(g, r0, r1, oh0, oh1, [&](int64_t r, int64_t c, int64_t ih, int64_t t, int64_t iw0, int64_t lo,
                                               int64_t hi) {
      T* d = cols + r * Lt + t * g.OW;
      if (ih < 0) {
        std::fill(d, d + g.OW, T(0));
        return;
      }
      const T* src = xg + (c * g.H + ih) * g.W + iw0;
      std::fill(d, d + lo, T(0));
      if (sw == 1) copy_short(src + lo, d + lo, hi - lo);
      else for (int64_t ow = lo; ow < hi; ++ow) d[ow] = src[ow * sw];
      std::fill(d + hi, d + g.OW, T(0));
    });
  });
}

// gxg (Cg, H, W) += the entries of dcols (K, (oh1 - oh0) * OW) at the pixels im2col took them
// from. Threads split the channels, so no two write one pixel.
template <typename T>
void col2im(const Geometry& g, const T* dcols, T* gxg, int64_t oh0, int64_t oh1, bool threaded) {
  const int64_t Lt = (oh1 - oh0) * g.OW, sw = g.p.stride_w, taps = g.KH * g.KW;
  maybe_parallel(threaded, g.Cg, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, taps * Lt)),
                 [&](int64_t c0, int64_t c1) {
    for_each_cols_row(g, c0 * taps, c1 * taps, oh0, oh1, [&](int64_t r, int64_t c, int64_t ih, int64_t t,
                                                             int64_t iw0, int64_t lo, int64_t hi) {
      if (ih < 0) return;
      const T* s = dcols + r * Lt + t * g.OW;
      T* dst = gxg + (c * g.H + ih) * g.W + iw0;
      for (int64_t ow = lo; ow < hi; ++ow) dst[ow * sw] += s[ow];
    });
  });
}

template <typename T>
void forward(const Geometry& g, const T* x, const T* w, const T* bias, T* out) {
  auto sample = [&](int64_t n, std::vector<T>& buf, bool threaded) {
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const T* xg = x + (n * g.C + gi * g.Cg) * g.H * g.W;
      const T* wg = w + gi * g.Og * g.K;
      T* og = out + (n * g.O + gi * g.Og) * g.L;
      for (int64_t oh0 = 0; oh0 < g.OH; oh0 += g.tile_h) {
        const int64_t oh1 = std::min(g.OH, oh0 + g.tile_h), Lt = (oh1 - oh0) * g.OW;
        const T* cols = xg;
        if (!g.direct) {
          im2col(g, xg, buf.data(), oh0, oh1, threaded);
          cols = buf.data();
        }
        gemm_bias<T>(threaded, g.Og, Lt, g.K, wg, cols, bias ? bias + gi * g.Og : nullptr, og + oh0 * g.OW, g.L);
      }
    }
  };
  const size_t cols_size = g.direct ? 0 : size_t(g.K * g.tile_h * g.OW);
  if (by_sample(g)) {
    SingleThreadedBlas one_blas_thread;
    parallel_for(0, g.N, sample_grain(g), [&](int64_t n0, int64_t n1) {
      std::vector<T> cols(cols_size);
      for (int64_t n = n0; n < n1; ++n) sample(n, cols, false);
    });
  } else {
    std::vector<T> cols(cols_size);
    for (int64_t n = 0; n < g.N; ++n) sample(n, cols, true);
  }
}

template <typename T>
void backward(const Geometry& g, const T* go, const T* x, const T* w, T* gx, T* gw, T* gb) {
  const size_t cols_size = g.direct ? 0 : size_t(g.K * g.tile_h * g.OW);
  // grad_w of samples n in [n0, n1) added into acc (O, K), grad_bias into bias_acc (O,) (while
  // the sample's grad_out is in cache); grad_x written for those samples.
  auto samples = [&](int64_t n0, int64_t n1, T* acc, double* bias_acc, bool threaded) {
    std::vector<T> cols(acc ? cols_size : 0), dcols(gx ? cols_size : 0);
    for (int64_t n = n0; n < n1; ++n) {
      if (bias_acc)
        for (int64_t o = 0; o < g.O; ++o) bias_acc[o] += RowOps<T>::sum_as_double(go + (n * g.O + o) * g.L, g.L);
      if (gx && !g.direct) std::fill(gx + n * g.C * g.H * g.W, gx + (n + 1) * g.C * g.H * g.W, T(0));
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* xg = x + (n * g.C + gi * g.Cg) * g.H * g.W;
        const T* wg = w + gi * g.Og * g.K;
        const T* gog = go + (n * g.O + gi * g.Og) * g.L;
        T* gxg = gx ? gx + (n * g.C + gi * g.Cg) * g.H * g.W : nullptr;
        for (int64_t oh0 = 0; oh0 < g.OH; oh0 += g.tile_h) {
          const int64_t oh1 = std::min(g.OH, oh0 + g.tile_h), Lt = (oh1 - oh0) * g.OW;
          const T* got = gog + oh0 * g.OW;
          if (acc) {
            const T* c = xg;
            if (!g.direct) {
              im2col(g, xg, cols.data(), oh0, oh1, threaded);
              c = cols.data();
            }
            gemm<T>(threaded, false, true, g.Og, g.K, Lt, got, g.L, c, Lt, T(1), acc + gi * g.Og * g.K, g.K);
          }
          if (gx) {
            if (g.direct) {
              gemm<T>(threaded, true, false, g.K, Lt, g.Og, wg, g.K, got, g.L, T(0), gxg, g.L);
            } else {
              gemm<T>(threaded, true, false, g.K, Lt, g.Og, wg, g.K, got, g.L, T(0), dcols.data(), Lt);
              col2im(g, dcols.data(), gxg, oh0, oh1, threaded);
            }
          }
        }
      }
    }
  };
  if (gw) std::fill(gw, gw + g.O * g.K, T(0));
  // Task t sums grad_w over a fixed split of the samples into partial t (task 0 into gw itself)
  // and grad_bias into bias_part[t]; the partials are added in task order, so the result does
  // not depend on timing.
  const bool split = by_sample(g);
  const int64_t tasks = split ? std::clamp<int64_t>(g.N / sample_grain(g), 1, num_threads()) : 1;
  std::vector<double> bias_part(gb ? size_t(tasks * g.O) : 0, 0.0);
  if (split) {
    SingleThreadedBlas one_blas_thread;
    std::vector<T> part(gw ? size_t((tasks - 1) * g.O * g.K) : 0, T(0));
    parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        T* acc = !gw ? nullptr : t == 0 ? gw : part.data() + (t - 1) * g.O * g.K;
        samples(g.N * t / tasks, g.N * (t + 1) / tasks, acc, gb ? bias_part.data() + t * g.O : nullptr, false);
      }
    });
    for (int64_t t = 1; t < tasks && gw; ++t) {
      const T* p = part.data() + (t - 1) * g.O * g.K;
      for (int64_t i = 0; i < g.O * g.K; ++i) gw[i] += p[i];
    }
  } else {
    samples(0, g.N, gw, gb ? bias_part.data() : nullptr, true);
  }
  for (int64_t o = 0; gb && o < g.O; ++o) {  // grad_bias[o] = sum over n and pixels of grad_out[n, o]
    double s = 0;
    for (int64_t t = 0; t < tasks; ++t) s += bias_part[t * g.O + o];
    gb[o] = T(s);
  }
}

template <typename T>
T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

}  // namespace

void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, const Tensor& out) {
  const Geometry g = geometry(x, w, out, p);
  if (x.dtype() == DType::Float64) forward(g, x.data<double>(), w.data<double>(), ptr<double>(bias), out.data<double>());
  else forward(g, x.data<float>(), w.data<float>(), ptr<float>(bias), out.data<float>());
}

void conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                     const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) {
  const Geometry g = geometry(x, w, grad_out, p);
  if (x.dtype() == DType::Float64)
    backward(g, grad_out.data<double>(), x.data<double>(), w.data<double>(), ptr<double>(grad_x),
             ptr<double>(grad_w), ptr<double>(grad_bias));
  else
    backward(g, grad_out.data<float>(), x.data<float>(), w.data<float>(), ptr<float>(grad_x),
             ptr<float>(grad_w), ptr<float>(grad_bias));
}

}  // namespace aimass::cpu
