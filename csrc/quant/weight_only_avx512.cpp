// The AVX-512 weight-only GEMM (weight_only.h, kernels.h): y (m, n) = x (m, k) @ dequant(W)^T.
// A tile is MR <= 4 rows of x x NR <= 4 output channels, 16 zmm accumulators (16 lanes of
// partial sums each, reduced once at the end). Per group and channel the fp16 scale d is
// converted once; 16 weights are dequantised per instruction group and used by every row:
//   int8: sign-extend 16 bytes, convert, multiply by d;
//   int4: a 16-entry table (q - 8) * d per group (one FMA: q*d - 8d is (q - 8) * d rounded
//         once, the baseline's value), and vpermps looks up 16 nibbles at a time (it reads
//         only the low 4 bits of each index, so the low nibbles need no mask, the high a shift).
// Each dequantised weight equals the baseline's exactly; the sums differ by float rounding
// (16 partial sums instead of one).
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <algorithm>

#include "core/cpu_isa.h"
#include "core/parallel.h"

// GCC 12's own AVX-512 intrinsics start from _mm512_undefined_*() and warn about it.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace aimass::quant::detail {

namespace {

constexpr int kMr = 4, kNr = 4;

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

// Lanes [0, left) of a 16-float chunk that are inside k.
inline __mmask16 chunk_mask(int64_t left) { return __mmask16(left >= 16 ? 0xFFFF : left <= 0 ? 0 : (1u << left) - 1); }

// acc[i][c] += x[i][0, 16) * wv[c]; with Masked, only the lanes in mask (x not read past them,
// the other lanes of acc unchanged).
template <int MR, int NR, bool Masked>
AM_TARGET_AVX512 __attribute__((always_inline)) inline void fma_rows(__m512 (&acc)[MR][NR], const __m512 (&wv)[NR],
                                                                     const float* x, int64_t ldx, __mmask16 mask) {
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i) {
    if (Masked) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + i * ldx);
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_mask3_fmadd_ps(xv, wv[c], acc[i][c], mask);
    } else {
      const __m512 xv = _mm512_loadu_ps(x + i * ldx);
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_fmadd_ps(xv, wv[c], acc[i][c]);
    }
  }
}

// The group's scale d of NR channels, each broadcast (fp16 -> float, exact).
template <int NR>
AM_TARGET_AVX512 __attribute__((always_inline)) inline void group_scales(__m512 (&d)[NR], const uint16_t* sc,
                                                                         int64_t groups) {
#pragma GCC unroll 4
  for (int c = 0; c < NR; ++c) d[c] = _mm512_cvtph_ps(_mm256_set1_epi16(short(sc[c * groups])));
}

// One group (len <= group elements from c0) of NR channels into the accumulators. Masked: the
// last group, shorter than `group` (k % group), else a whole one.
template <int MR, int NR, int Bits, bool Masked>
AM_TARGET_AVX512 __attribute__((always_inline)) inline void group_step(__m512 (&acc)[MR][NR], const Args& p,
                                                                       const float* x, const uint8_t* q,
                                                                       const uint16_t* sc, int64_t g) {
  const int64_t c0 = g * p.group, len = Masked ? p.k - c0 : p.group;
  __m512 d[NR];
  group_scales<NR>(d, sc + g, p.groups);
  if (Bits == 8) {
    for (int64_t v = 0; v < len; v += 16) {
      __m512 wv[NR];
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) {
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + c * p.row_bytes + c0 + v));
        wv[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), d[c]);
      }
      fma_rows<MR, NR, Masked>(acc, wv, x + c0 + v, p.ldx, chunk_mask(len - v));
    }
  } else {
    const int64_t half = p.group / 2;
    // table[c][q] = (q - 8) * d: the baseline's product, one rounding
    const __m512 q_minus_8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
    __m512 table[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) table[c] = _mm512_mul_ps(q_minus_8, d[c]);
    for (int64_t v = 0; v < half; v += 16) {
      __m512i idx[NR];
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c)
        idx[c] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + c * p.row_bytes + c0 / 2 + v)));
      if (!Masked || v < len) {  // low nibbles: elements v .. v + 15 of the group
        __m512 wv[NR];
#pragma GCC unroll 4
        for (int c = 0; c < NR; ++c) wv[c] = _mm512_permutexvar_ps(idx[c], table[c]);
        fma_rows<MR, NR, Masked>(acc, wv, x + c0 + v, p.ldx, chunk_mask(len - v));
      }
      if (!Masked || half + v < len) {  // high nibbles: elements half + v .. half + v + 15
        __m512 wv[NR];
#pragma GCC unroll 4
        for (int c = 0; c < NR; ++c) wv[c] = _mm512_permutexvar_ps(_mm512_srli_epi32(idx[c], 4), table[c]);
        fma_rows<MR, NR, Masked>(acc, wv, x + c0 + half + v, p.ldx, chunk_mask(len - half - v));
      }
    }
  }
}

// Rows [0, MR) of x and channels [r0, r0 + NR).
template <int MR, int NR, int Bits>
AM_TARGET_AVX512 void tile(const Args& p, const float* x, int64_t r0, float* y) {
  __m512 acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_setzero_ps();
  const uint8_t* q = p.q + r0 * p.row_bytes;
  const uint16_t* sc = p.scales + r0 * p.groups;
  const int64_t whole = p.k / p.group;
  for (int64_t g = 0; g < whole; ++g) group_step<MR, NR, Bits, false>(acc, p, x, q, sc, g);
  if (whole < p.groups) group_step<MR, NR, Bits, true>(acc, p, x, q, sc, whole);
  // through memory, so that acc is only indexed by unrolled constants (and stays in registers)
  alignas(64) float sums[MR][NR][16];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) _mm512_store_ps(sums[i][c], acc[i][c]);
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < NR; ++c) {
      const float v = _mm512_reduce_add_ps(_mm512_load_ps(sums[i][c])) + (p.bias ? p.bias[r0 + c] : 0.0f);
      y[i * p.ldy + r0 + c] = p.relu ? std::max(v, 0.0f) : v;
    }
}

using TileFn = void (*)(const Args&, const float*, int64_t, float*);

template <int Bits, int MR>
constexpr TileFn kByChannels[kNr] = {tile<MR, 1, Bits>, tile<MR, 2, Bits>, tile<MR, 3, Bits>, tile<MR, 4, Bits>};

template <int Bits>
constexpr const TileFn* kTiles[kMr] = {kByChannels<Bits, 1>, kByChannels<Bits, 2>, kByChannels<Bits, 3>,
                                       kByChannels<Bits, 4>};

}  // namespace

void weight_only_gemm_avx512(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales,
                             int64_t n, int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y,
                             int64_t ldy) {
  const int64_t groups = (k + group - 1) / group;
  const Args p{x, ldx, q, scales, k, group, groups, groups * group * bits / 8, bias, relu, y, ldy};
  const TileFn* const* tiles = bits == 8 ? kTiles<8> : kTiles<4>;
  const int64_t n_blocks = (n + kNr - 1) / kNr;
  // a chunk of blocks is worth a thread from ~64K weights on
  parallel_for(0, n_blocks, std::max<int64_t>(1, 65536 / (k * kNr)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kNr, nr = std::min<int64_t>(kNr, n - r0);
      for (int64_t i = 0; i < m; i += kMr)  // the block's weights stay in L1 across the row tiles
        tiles[std::min<int64_t>(kMr, m - i) - 1][nr - 1](p, x + i * ldx, r0, y + i * ldy);
    }
  });
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
