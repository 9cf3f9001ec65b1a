// The AVX2 weight-only GEMM (weight_only.h, kernels.h): y (m, n) = x (m, k) @ dequant(W)^T over
// tiles of MR <= 2 rows x NR <= 4 output channels, 8 ymm accumulators (8 lanes of partial sums,
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

constexpr int kMr = 2, kNr = 4;

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
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(std::min<int64_t>(left, 8))), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// acc[i][c] += x[i][0, 8) * wv[c]; `left` < 8: only the first `left` lanes (x not read past
// them, the weights zeroed there).
template <int MR, int NR>
AM_TARGET_AVX2 __attribute__((always_inline)) inline void fma_rows(__m256 (&acc)[MR][NR], __m256 (&wv)[NR],
                                                                   const float* x, int64_t ldx, int64_t left) {
  if (left >= 8) {
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx);
      for (int c = 0; c < NR; ++c) acc[i][c] = _mm256_fmadd_ps(xv, wv[c], acc[i][c]);
    }
    return;
  }
  const __m256i mask = lane_mask(left);
  for (int c = 0; c < NR; ++c) wv[c] = _mm256_and_ps(wv[c], _mm256_castsi256_ps(mask));
  for (int i = 0; i < MR; ++i) {
    const __m256 xv = _mm256_maskload_ps(x + i * ldx, mask);
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
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm256_setzero_ps();
  const uint8_t* q = p.q + r0 * p.row_bytes;
  const uint16_t* sc = p.scales + r0 * p.groups;
  for (int64_t g = 0; g < p.groups; ++g) {
    const int64_t c0 = g * p.group, len = std::min(p.group, p.k - c0);
    __m256 d[NR];
    for (int c = 0; c < NR; ++c) d[c] = _mm256_set1_ps(_cvtsh_ss(sc[c * p.groups + g]));
    if (Bits == 8) {
      for (int64_t v = 0; v < len; v += 8) {
        __m256 wv[NR];
        for (int c = 0; c < NR; ++c)
          wv[c] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(load8(q + c * p.row_bytes + c0 + v))), d[c]);
        fma_rows<MR, NR>(acc, wv, x + c0 + v, p.ldx, len - v);
      }
    } else {
      const int64_t half = p.group / 2;
      // (q - 8) * d as fma(q, d, -8d): one rounding of the exact (q - 8) * d, the baseline's value
      const __m256i nib = _mm256_set1_epi32(0xf);
      __m256 minus_8d[NR];
      for (int c = 0; c < NR; ++c) minus_8d[c] = _mm256_mul_ps(_mm256_set1_ps(-8.0f), d[c]);
      for (int64_t v = 0; v < half; v += 8) {
        __m256i b[NR];
        for (int c = 0; c < NR; ++c) b[c] = _mm256_cvtepu8_epi32(load8(q + c * p.row_bytes + c0 / 2 + v));
        if (v < len) {  // low nibbles: elements v .. v + 7 of the group
          __m256 wv[NR];
          for (int c = 0; c < NR; ++c)
            wv[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(b[c], nib)), d[c], minus_8d[c]);
          fma_rows<MR, NR>(acc, wv, x + c0 + v, p.ldx, len - v);
        }
        if (half + v < len) {  // high nibbles: elements half + v .. half + v + 7
          __m256 wv[NR];
          for (int c = 0; c < NR; ++c)
            wv[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(b[c], 4)), d[c], minus_8d[c]);
          fma_rows<MR, NR>(acc, wv, x + c0 + half + v, p.ldx, len - half - v);
        }
      }
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < NR; ++c) {
      const float v = hsum(acc[i][c]) + (p.bias ? p.bias[r0 + c] : 0.0f);
      y[i * p.ldy + r0 + c] = p.relu ? std::max(v, 0.0f) : v;
    }
}

using TileFn = void (*)(const Args&, const float*, int64_t, float*);

template <int Bits, int MR>
constexpr TileFn kByChannels[kNr] = {tile<MR, 1, Bits>, tile<MR, 2, Bits>, tile<MR, 3, Bits>, tile<MR, 4, Bits>};

template <int Bits>
constexpr const TileFn* kTiles[kMr] = {kByChannels<Bits, 1>, kByChannels<Bits, 2>};

}  // namespace

void weight_only_gemm_avx2(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales, int64_t n,
                           int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y, int64_t ldy) {
  const int64_t groups = (k + group - 1) / group;
  const Args p{x, ldx, q, scales, k, group, groups, groups * group * bits / 8, bias, relu, y, ldy};
  const TileFn* const* tiles = bits == 8 ? kTiles<8> : kTiles<4>;
  const int64_t n_blocks = (n + kNr - 1) / kNr;
  parallel_for(0, n_blocks, std::max<int64_t>(1, 65536 / (k * kNr)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kNr, nr = std::min<int64_t>(kNr, n - r0);
      for (int64_t i = 0; i < m; i += kMr)
        tiles[std::min<int64_t>(kMr, m - i) - 1][nr - 1](p, x + i * ldx, r0, y + i * ldy);
    }
  });
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
