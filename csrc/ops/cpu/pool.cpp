// Max and average pooling on the CPU: direct loops over each (n, c) plane, planes spread over
// the pool. The window of output (oh, ow) starts at (oh * stride_h - pad_h, ow * stride_w - pad_w)
// and is clipped to the image; max pooling records where its max was for the backward.
#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AM_POOL_AVX512 1
#endif

#include "core/cpu_isa.h"
#include "core/parallel.h"
#include "ops/kernels/pool.h"

namespace aimass::cpu {

namespace {

// An axis's window [lo, hi) clipped to the image, and its PyTorch avg divisor extent.
struct Window {
  int64_t lo, hi, padded;  // padded: the window clipped to the padded input instead
};

Window window(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad) {
  const int64_t start = o * s - pad, end = std::min(start + k, in + pad);
  return {std::max<int64_t>(start, 0), std::min(end, in), end - start};
}

struct Planes {
  int64_t P, H, W, OH, OW;  // P = N * C
};

Planes planes(const Tensor& x, const Tensor& out) {
  return {x.shape()[0] * x.shape()[1], x.shape()[2], x.shape()[3], out.shape()[2], out.shape()[3]};
}

int64_t plane_grain(const Planes& q, int64_t per_pixel) {
  return std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(1, q.OH * q.OW * per_pixel));
}

#ifdef AM_POOL_AVX512
// One output row of the 2x2 float case, 16 outputs per step (the last step masked: rows of 14
// or 7 outputs are common), the same rules as the scalar loop below: tap j replaces the best k
// when !(v[j] <= v[k]) and v[k] is not NaN. r0, r1: the two input rows; the indices are base +
// offset in the plane. Needs 2 * OW <= W < 2^30.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's own intrinsics (_mm512_undefined)
AM_TARGET_AVX512 void max_row_2x2_avx512(const float* r0, const float* r1, float* o, int64_t* oi, int64_t OW,
                                         int64_t base, int64_t W) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i row_w = _mm512_set1_epi32(int(W)), one = _mm512_set1_epi32(1);
  const __m512i b = _mm512_set1_epi64(base);
  for (int64_t ow = 0; ow < OW; ow += 16) {
    const int64_t n = std::min<int64_t>(16, OW - ow);  // outputs in this step
    const auto lanes = [](int64_t m) { return __mmask16(m >= 16 ? 0xFFFF : (1u << std::max<int64_t>(m, 0)) - 1); };
    const __mmask16 m0 = lanes(2 * n), m1 = lanes(2 * n - 16), mo = lanes(n);
    const __m512 a0 = _mm512_maskz_loadu_ps(m0, r0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(m1, r0 + 2 * ow + 16);
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, r1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(m1, r1 + 2 * ow + 16);
    const __m512 v[4] = {_mm512_permutex2var_ps(a0, even, a1), _mm512_permutex2var_ps(a0, odd, a1),
                         _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
    __m512 best = v[0];
    __m512i k = _mm512_setzero_si512();
    for (int j = 1; j < 4; ++j) {
      const __mmask16 take = _mm512_cmp_ps_mask(v[j], best, _CMP_NLE_UQ) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
      best = _mm512_mask_mov_ps(best, take, v[j]);
      k = _mm512_mask_mov_epi32(k, take, _mm512_set1_epi32(j));
    }
    _mm512_mask_storeu_ps(o + ow, mo, best);
    // offset in the plane: (k >> 1) * W + (k & 1) + 2 * (ow + lane)
    __m512i off = _mm512_mullo_epi32(_mm512_srli_epi32(k, 1), row_w);
    off = _mm512_add_epi32(off, _mm512_and_si512(k, one));
    off = _mm512_add_epi32(off, _mm512_add_epi32(even, _mm512_set1_epi32(int(2 * ow))));
    _mm512_mask_storeu_epi64(oi + ow, __mmask8(mo), _mm512_add_epi64(b, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(off))));
    _mm512_mask_storeu_epi64(oi + ow + 8, __mmask8(mo >> 8),
                             _mm512_add_epi64(b, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(off, 1))));
  }
}
#pragma GCC diagnostic pop
#endif

// The 2x2, stride-2, unpadded case (most CNNs): every window lies inside the image, so no
// clipping, and the four taps are compared in the general loop's order (row by row) with the
// same rules: strictly greater keeps the first of ties, the first NaN wins. About 5x faster
// than the general loop, where the pooling took as long as a convolution; float32 rows on
// AVX-512 another ~5x (the scalar loop was 13% of a small CNN's training step).
template <typename T>
void max_forward_2x2(const T* x, T* out, int64_t* idx, const Planes& q) {
#ifdef AM_POOL_AVX512
  const bool vector_rows = std::is_same_v<T, float> && q.W < (int64_t(1) << 30) &&
                           cpu_isa_at("max_pool_2x2") == CpuIsa::Avx512;
#endif
  parallel_for(0, q.P, plane_grain(q, 4), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* xp = x + pl * q.H * q.W;
      const int64_t W = q.W, OW = q.OW;
      for (int64_t oh = 0; oh < q.OH; ++oh) {
        const T* r0 = xp + 2 * oh * W;
        const T* r1 = r0 + W;
        T* o = out + (pl * q.OH + oh) * OW;
        int64_t* oi = idx + (pl * q.OH + oh) * OW;
#ifdef AM_POOL_AVX512
        if constexpr (std::is_same_v<T, float>)
          if (vector_rows) {
            max_row_2x2_avx512(r0, r1, o, oi, OW, 2 * oh * W, W);
            continue;
          }
#endif
        for (int64_t ow = 0; ow < OW; ++ow) {
          // Branch-free, as the max's position is random and branches mispredict: tap j is
          // taken when best is not NaN and !(v <= best), i.e. v > best or v is NaN.
          const T v[4] = {r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
          int k = 0;
          for (int j = 1; j < 4; ++j) {
            const int take = int(!(v[j] <= v[k])) & int(v[k] == v[k]);
            k += take * (j - k);
          }
          o[ow] = v[k];
          oi[ow] = (2 * oh + (k >> 1)) * W + 2 * ow + (k & 1);
        }
      }
    }
  });
}

template <typename T>
void max_forward(const T* x, T* out, int64_t* idx, const Planes& q, const Pool2dParams& p) {
  if (p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_h == 0 && p.pad_w == 0 &&
      2 * q.OH <= q.H && 2 * q.OW <= q.W)
    return max_forward_2x2(x, out, idx, q);
  parallel_for(0, q.P, plane_grain(q, p.kernel_h * p.kernel_w), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* xp = x + pl * q.H * q.W;
      for (int64_t oh = 0; oh < q.OH; ++oh) {
        const Window wh = window(oh, q.H, p.kernel_h, p.stride_h, p.pad_h);
        for (int64_t ow = 0; ow < q.OW; ++ow) {
          const Window ww = window(ow, q.W, p.kernel_w, p.stride_w, p.pad_w);
          int64_t best_i = wh.lo * q.W + ww.lo;
          T best = xp[best_i];
          // Strictly greater keeps the first of ties; the first NaN wins and ends the search.
          for (int64_t h = wh.lo; h < wh.hi && !std::isnan(best); ++h)
            for (int64_t w = ww.lo; w < ww.hi; ++w) {
              const T v = xp[h * q.W + w];
              if (v > best || std::isnan(v)) {
                best = v;
                best_i = h * q.W + w;
                if (std::isnan(v)) break;
              }
            }
          const int64_t o = (pl * q.OH + oh) * q.OW + ow;
          out[o] = best;
          idx[o] = best_i;
        }
      }
    }
  });
}

template <typename T>
void max_backward(const T* go, const int64_t* idx, T* gx, const Planes& q) {
  parallel_for(0, q.P, plane_grain(q, 1), [&](int64_t p0, int64_t p1) {
    std::fill(gx + p0 * q.H * q.W, gx + p1 * q.H * q.W, T(0));
    for (int64_t pl = p0; pl < p1; ++pl)
      for (int64_t o = pl * q.OH * q.OW; o < (pl + 1) * q.OH * q.OW; ++o) gx[pl * q.H * q.W + idx[o]] += go[o];
  });
}

template <typename T>
T divisor(const Window& wh, const Window& ww, bool count_include_pad) {
  return count_include_pad ? T(wh.padded * ww.padded) : T((wh.hi - wh.lo) * (ww.hi - ww.lo));
}

template <typename T>
void avg_forward(const T* x, T* out, const Planes& q, const Pool2dParams& p) {
  parallel_for(0, q.P, plane_grain(q, p.kernel_h * p.kernel_w), [&](int64_t p0, int64_t p1) {
    for (int64_t pl = p0; pl < p1; ++pl) {
      const T* xp = x + pl * q.H * q.W;
      for (int64_t oh = 0; oh < q.OH; ++oh) {
        const Window wh = window(oh, q.H, p.kernel_h, p.stride_h, p.pad_h);
        for (int64_t ow = 0; ow < q.OW; ++ow) {
          const Window ww = window(ow, q.W, p.kernel_w, p.stride_w, p.pad_w);
          T s = 0;
          for (int64_t h = wh.lo; h < wh.hi; ++h)
            for (int64_t w = ww.lo; w < ww.hi; ++w) s += xp[h * q.W + w];
          out[(pl * q.OH + oh) * q.OW + ow] = s / divisor<T>(wh, ww, p.count_include_pad);
        }
      }
    }
  });
}

template <typename T>
void avg_backward(const T* go, T* gx, const Planes& q, const Pool2dParams& p) {
  parallel_for(0, q.P, plane_grain(q, p.kernel_h * p.kernel_w), [&](int64_t p0, int64_t p1) {
    std::fill(gx + p0 * q.H * q.W, gx + p1 * q.H * q.W, T(0));
    for (int64_t pl = p0; pl < p1; ++pl) {
      T* gp = gx + pl * q.H * q.W;
      for (int64_t oh = 0; oh < q.OH; ++oh) {
        const Window wh = window(oh, q.H, p.kernel_h, p.stride_h, p.pad_h);
        for (int64_t ow = 0; ow < q.OW; ++ow) {
          const Window ww = window(ow, q.W, p.kernel_w, p.stride_w, p.pad_w);
          const T g = go[(pl * q.OH + oh) * q.OW + ow] / divisor<T>(wh, ww, p.count_include_pad);
          for (int64_t h = wh.lo; h < wh.hi; ++h)
            for (int64_t w = ww.lo; w < ww.hi; ++w) gp[h * q.W + w] += g;
        }
      }
    }
  });
}

}  // namespace

void max_pool2d(const Tensor& x, const Pool2dParams& p, const Tensor& out, const Tensor& indices) {
  const Planes q = planes(x, out);
  if (x.dtype() == DType::Float64) max_forward(x.data<double>(), out.data<double>(), indices.data<int64_t>(), q, p);
  else max_forward(x.data<float>(), out.data<float>(), indices.data<int64_t>(), q, p);
}

void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dParams&, const Tensor& grad_x) {
  const Planes q = planes(grad_x, grad_out);
  if (grad_x.dtype() == DType::Float64)
    max_backward(grad_out.data<double>(), indices.data<int64_t>(), grad_x.data<double>(), q);
  else max_backward(grad_out.data<float>(), indices.data<int64_t>(), grad_x.data<float>(), q);
}

void avg_pool2d(const Tensor& x, const Pool2dParams& p, const Tensor& out) {
  const Planes q = planes(x, out);
  if (x.dtype() == DType::Float64) avg_forward(x.data<double>(), out.data<double>(), q, p);
  else avg_forward(x.data<float>(), out.data<float>(), q, p);
}

void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, const Tensor& grad_x) {
  const Planes q = planes(grad_x, grad_out);
  if (grad_x.dtype() == DType::Float64) avg_backward(grad_out.data<double>(), grad_x.data<double>(), q, p);
  else avg_backward(grad_out.data<float>(), grad_x.data<float>(), q, p);
}

}  // namespace aimass::cpu
