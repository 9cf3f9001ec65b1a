// The AVX2 weight-only GEMM (weight_only.h, kernels.h): y (m, n) = x (m, k) @ dequant(W)^T over
// tiles of rows x output channels (2 x 4 or 4 x 2), 8 ymm accumulators (8 lanes of partial sums,
// reduced at the end). Group by group, 8 weights at a time are widened to int32, converted and
// scaled by the group's fp16 d: int8 as q * d, int4 as fma(q, d, -8d) = (q - 8) * d rounded
// once: the baseline's exact values. Lanes past k are masked off.
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <algorithm>

#include "core/cpu_isa.h"
#include "core/parallel.h"

namespace aimass::quant::detail {

namespace {

// Wide tiles (rows <= 2 x 4 channels) for m <= 2, where each weight serves one or two rows; tall
// ones (rows <= 4 x 2 channels) above, where dequantising once for 4 rows matters more.
constexpr int kMr = 2, kNr = 4, kTallMr = 4, kTallNr = 2;

struct Args {
  const float* x;
  int64_t ldx;
  const uint8_t* q;
  const uint16_t* scales;
  int64_t k, group, groups, row_bytes;
  const float* bias;
  bool relu;
  float* y;
  int64_t ldy;
};

AM_TARGET_AVX2 inline __m256i lane_mask(int64_t left) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::min<int64_t>(left, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// acc[i][c] += x[i][0, 8) * wv[c]; `left` < 8: only the first `left` lanes (x not read past
// them, the weights zeroed there).
template <int MR, int NR>
AM_TARGET_AVX2 __attribute__((always_inline)) inline void fma_rows(__m256 (&acc)[MR][NR], __m256 (&wv)[NR],
                                                                   const float* x, int64_t ldx, int64_t left) {
  if (left >= 8) {
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx);
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) acc[i][c] = _mm256_fmadd_ps(xv, wv[c], acc[i][c]);
    }
    return;
  }
  const __m256i mask = lane_mask(left);
#pragma GCC unroll 4
  for (int c = 0; c < NR; ++c) wv[c] = _mm256_and_ps(wv[c], _mm256_castsi256_ps(mask));
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    const __m256 xv = _mm256_maskload_ps(x + i * ldx, mask);
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm256_fmadd_ps(xv, wv[c], acc[i][c]);
  }
}

AM_TARGET_AVX2 inline __m128i load8(const uint8_t* p) {
  return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
}

AM_TARGET_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int MR, int NR, int Bits>
AM_TARGET_AVX2 void tile(const Args& p, const float* x, int64_t r0, float* y) {
  __m256 acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm256_setzero_ps();
  const uint8_t* q = p.q + r0 * p.row_bytes;
  const uint16_t* sc = p.scales + r0 * p.groups;
  for (int64_t g = 0; g < p.groups; ++g) {
    const int64_t c0 = g * p.group, len = std::min(p.group, p.k - c0);
    __m256 d[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) d[c] = _mm256_set1_ps(_cvtsh_ss(sc[c * p.groups + g]));
    if (Bits == 8) {
      for (int64_t v = 0; v < len; v += 8) {
        __m256 wv[NR];
#pragma GCC unroll 4
        for (int c = 0; c < NR; ++c)
          wv[c] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(q + c * p.row_bytes + c0 + v))), d[c]);
        fma_rows<MR, NR>(acc, wv, x + c0 + v, p.ldx, len - v);
      }
    } else {
      const int64_t half = p.group / 2;
      // (q - 8) * d as fma(q, d, -8d): one rounding of the exact (q - 8) * d, the baseline's value
      const __m256i nib = _mm256_set1_epi32(0xf);
      __m256 minus_8d[NR];
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) minus_8d[c] = _mm256_mul_ps(_mm256_set1_ps(-8.0f), d[c]);
      for (int64_t v = 0; v < half; v += 8) {
        __m256i b[NR];
#pragma GCC unroll 4
        for (int c = 0; c < NR; ++c) b[c] = _mm256_cvtepu8_epi32(load8(q + c * p.row_bytes + c0 / 2 + v));
        if (v < len) {  // low nibbles: elements v .. v + 7 of the group
          __m256 wv[NR];
#pragma GCC unroll 4
          for (int c = 0; c < NR; ++c)
            wv[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(b[c], nib)), d[c], minus_8d[c]);
          fma_rows<MR, NR>(acc, wv, x + c0 + v, p.ldx, len - v);
        }
        if (half + v < len) {  // high nibbles: elements half + v .. half + v + 7
          __m256 wv[NR];
#pragma GCC unroll 4
          for (int c = 0; c < NR; ++c)
            wv[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(b[c], 4)), d[c], minus_8d[c]);
          fma_rows<MR, NR>(acc, wv, x + c0 + half + v, p.ldx, len - half - v);
        }
      }
    }
  }
  // through memory, so that acc is only indexed by unrolled constants (and stays in registers)
  alignas(32) float sums[MR][NR][8];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) _mm256_store_ps(sums[i][c], acc[i][c]);
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < NR; ++c) {
      const float v = hsum(_mm256_load_ps(sums[i][c])) + (p.bias ? p.bias[r0 + c] : 0.0f);
      y[i * p.ldy + r0 + c] = p.relu ? std::max(v, 0.0f) : v;
    }
}

using TileFn = void (*)(const Args&, const float*, int64_t, float*);

template <int Bits, int MR>
constexpr TileFn kByChannels[kNr] = {tile<MR, 1, Bits>, tile<MR, 2, Bits>, tile<MR, 3, Bits>, tile<MR, 4, Bits>};

template <int Bits>
constexpr const TileFn* kTiles[kMr] = {kByChannels<Bits, 1>, kByChannels<Bits, 2>};
template <int Bits, int MR>
constexpr TileFn kTallByChannels[kTallNr] = {tile<MR, 1, Bits>, tile<MR, 2, Bits>};
template <int Bits>
constexpr const TileFn* kTallTiles[kTallMr] = {kTallByChannels<Bits, 1>, kTallByChannels<Bits, 2>,
                                               kTallByChannels<Bits, 3>, kTallByChannels<Bits, 4>};

}  // namespace

void weight_only_gemm_avx2(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales, int64_t n,
                           int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y, int64_t ldy) {
  const int64_t groups = (k + group - 1) / group;
  const Args p{x, ldx, q, scales, k, group, groups, groups * group * bits / 8, bias, relu, y, ldy};
  const TileFn* const* tiles = bits == 8 ? kTiles<8> : kTiles<4>;
  const TileFn* const* tall = bits == 8 ? kTallTiles<8> : kTallTiles<4>;
  const int64_t n_blocks = (n + kNr - 1) / kNr;
  parallel_for(0, n_blocks, std::max<int64_t>(1, 65536 / (k * kNr)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kNr, nr = std::min<int64_t>(kNr, n - r0);
      if (m <= kMr) {
        tiles[m - 1][nr - 1](p, x, r0, y);
        continue;
      }
      for (int64_t i = 0; i < m; i += kTallMr)
        for (int64_t c = 0; c < nr; c += kTallNr)
          tall[std::min<int64_t>(kTallMr, m - i) - 1][std::min<int64_t>(kTallNr, nr - c) - 1](p, x + i * ldx, r0 + c,
                                                                                             y + i * ldy);
    }
  });
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
