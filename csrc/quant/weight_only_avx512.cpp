// The AVX-512 weight-only GEMM (weight_only.h, kernels.h): y (m, n) = x (m, k) @ dequant(W)^T,
// over tiles of rows of x x 4 output channels, with 16-lane float accumulators per (row,
// channel) reduced once at the end. Both use the stored fp16 d exactly (fp16 -> float is exact);
// the sums differ from the baseline's by float rounding only.
//   int8 (tiles of 4 rows): per group and channel d is broadcast, 16 bytes are sign-extended,
//     converted and multiplied by d (the baseline's weight, bit for bit), then used by every row.
//   int4 (tiles of 2 rows): in 64-byte blocks of a row, loaded as 16 dwords; see tile4.
// The FMA pipes are the bound at m = 1, so int4 spends one multiply-add per weight and row and
// one more per block, and int8 one multiply per weight shared by the rows.
//   From kPanelRows rows on, dequantising in registers would redo the conversion for every tile
//   of rows, and the FMAs, not the weights' bytes, bound the time: each tile of kPanelChannels
//   output channels is dequantised once (vectorised, the same float weights) into a per-thread
//   buffer that stays in L2, and our float GEMM micro-kernel (ops/cpu/sgemm_avx512.h) runs on it.
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "core/cpu_isa.h"
#include "core/parallel.h"
#include "ops/cpu/sgemm_avx512.h"

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

// y[i][j0 + c] = sum of acc[i][c]'s lanes + bias, then ReLU when asked. Through memory, so that
// acc is only indexed by unrolled constants (and stays in registers) in the callers' loops.
template <int MR, int NR>
AM_TARGET_AVX512 __attribute__((always_inline)) inline void store_tile(const __m512 (&acc)[MR][NR], const Args& p,
                                                                       int64_t j0, float* y) {
  alignas(64) float sums[MR][NR][16];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) _mm512_store_ps(sums[i][c], acc[i][c]);
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < NR; ++c) {
      const float v = _mm512_reduce_add_ps(_mm512_load_ps(sums[i][c])) + (p.bias ? p.bias[j0 + c] : 0.0f);
      y[i * p.ldy + j0 + c] = p.relu ? std::max(v, 0.0f) : v;
    }
}

// One int8 group of NR channels into the accumulators, with the group's scales d (broadcast).
// Masked: the last group, shorter than Group (k % Group); else a whole one (the chunk loop unrolls).
template <int MR, int NR, int Group, bool Masked>
AM_TARGET_AVX512 __attribute__((always_inline)) inline void group_step(__m512 (&acc)[MR][NR], const __m512 (&d)[NR],
                                                                       const Args& p, const float* x,
                                                                       const uint8_t* q, int64_t g) {
  const int64_t c0 = g * Group, len = Masked ? p.k - c0 : Group;
#pragma GCC unroll 8
  for (int64_t v = 0; v < len; v += 16) {
    __m512 wv[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + c * p.row_bytes + c0 + v));
      wv[c] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)), d[c]);
    }
    fma_rows<MR, NR, Masked>(acc, wv, x + c0 + v, p.ldx, chunk_mask(len - v));
  }
}

// Rows [0, MR) of x and channels [r0, r0 + NR).
template <int MR, int NR, int Group>
AM_TARGET_AVX512 void tile(const Args& p, const float* x, int64_t r0, float* y) {
  __m512 acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_setzero_ps();
  const uint8_t* q = p.q + r0 * p.row_bytes;
  const uint16_t* sc = p.scales + r0 * p.groups;
  const int64_t whole = p.k / Group;
  // the scales of 16 groups at a time per channel (one fp16 -> float conversion), then each
  // group's broadcast from them
  for (int64_t g0 = 0; g0 < whole; g0 += 16) {
    const int64_t count = std::min<int64_t>(16, whole - g0);
    __m512 dv[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c)
      dv[c] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(__mmask16((1u << count) - 1), sc + c * p.groups + g0));
    for (int64_t gi = 0; gi < count; ++gi) {
      const __m512i lane = _mm512_set1_epi32(int(gi));
      __m512 d[NR];
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) d[c] = _mm512_permutexvar_ps(lane, dv[c]);
      group_step<MR, NR, Group, false>(acc, d, p, x, q, g0 + gi);
    }
  }
  if (whole < p.groups) {
    __m512 d[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) d[c] = _mm512_cvtph_ps(_mm256_set1_epi16(short(sc[c * p.groups + whole])));
    group_step<MR, NR, Group, true>(acc, d, p, x, q, whole);
  }
  store_tile<MR, NR>(acc, p, r0, y);
}

// ---- int4 in 64-byte blocks (128 weights of a row): the block is loaded as 16 dwords, and
// nibble j of every dword (bits 4j .. 4j + 3) is a vpermps index with no unpacking: vpermps reads
// only the low 4 bits, so a shift by 4j is all it takes. Lane L of shift j holds byte 4L + j / 2
// of the block, low nibble for even j, high for odd: element e4(L, j) below. x is permuted into
// that order once per call (x4: (m, blocks * 128), zero past k), so the FMAs read it
// contiguously. vpermps turns the nibbles into q - 8 (exact), each lane sums x * (q - 8) over
// the block's 8 shifts, and one FMA per block applies d_lane: per lane, the scale of the group
// its bytes are in (a lane's 4 bytes are always in one group).

// Element of the group-ordered row at lane L of shift j of a block (half = group / 2 bytes).
inline int64_t e4(int64_t L, int j, int64_t half) {
  const int64_t b = 4 * L + j / 2;  // byte in the block
  return b / half * 2 * half + b % half + (j % 2) * half;
}

template <int MR, int NR>
AM_TARGET_AVX512 void tile4(const Args& p, const float* x4, int64_t ldx4, int64_t r0, float* y) {
  __m512 acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_setzero_ps();
  const uint8_t* q = p.q + r0 * p.row_bytes;
  const uint16_t* sc = p.scales + r0 * p.groups;
  const int64_t half = p.group / 2, groups_per_block = 64 / half, blocks = (p.row_bytes + 63) / 64;
  const __m512 q_minus_8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
  // lane L -> the block's group of its bytes: L / (half / 4)
  const __m512i lane_group = _mm512_srlv_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(half == 16 ? 2 : half == 32 ? 3 : 4));
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t left = p.row_bytes - b * 64, g0 = b * groups_per_block;
    const __mmask64 bytes = left >= 64 ? ~__mmask64(0) : (__mmask64(1) << left) - 1;
    const __mmask16 gmask = __mmask16((1u << std::min<int64_t>(groups_per_block, p.groups - g0)) - 1);
    __m512i wb[NR];
    __m512 dl[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) {
      wb[c] = _mm512_maskz_loadu_epi8(bytes, q + c * p.row_bytes + b * 64);  // past the row: 0, x4 is 0 there
      dl[c] = _mm512_permutexvar_ps(lane_group,
                                    _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(gmask, sc + c * p.groups + g0)));
    }
    // block sums of x * (q - 8) per lane, then one FMA with the lanes' scales: 9 FMAs per 128
    // weights and row instead of 8 multiplies and 8 FMAs (the FMA pipes are the bound)
    __m512 part[MR][NR];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m512 wv[NR];
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) wv[c] = _mm512_permutexvar_ps(_mm512_srli_epi32(wb[c], unsigned(4 * j)), q_minus_8);
#pragma GCC unroll 4
      for (int i = 0; i < MR; ++i) {
        const __m512 xv = _mm512_loadu_ps(x4 + i * ldx4 + b * 128 + j * 16);
#pragma GCC unroll 4
        for (int c = 0; c < NR; ++c)
          part[i][c] = j == 0 ? _mm512_mul_ps(xv, wv[c]) : _mm512_fmadd_ps(xv, wv[c], part[i][c]);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_fmadd_ps(part[i][c], dl[c], acc[i][c]);
  }
  store_tile<MR, NR>(acc, p, r0, y);
}

using Tile4Fn = void (*)(const Args&, const float*, int64_t, int64_t, float*);
template <int MR>
constexpr Tile4Fn kTile4ByChannels[kNr] = {tile4<MR, 1>, tile4<MR, 2>, tile4<MR, 3>, tile4<MR, 4>};
constexpr int kMr4 = 2;  // 2 x 4 accumulators and 2 x 4 block sums
constexpr const Tile4Fn* kTiles4[kMr4] = {kTile4ByChannels<1>, kTile4ByChannels<2>};

using TileFn = void (*)(const Args&, const float*, int64_t, float*);

// kTiles<Group>[rows - 1][channels - 1]
template <int Group, int MR>
constexpr TileFn kByChannels[kNr] = {tile<MR, 1, Group>, tile<MR, 2, Group>, tile<MR, 3, Group>, tile<MR, 4, Group>};
template <int Group>
constexpr const TileFn* kTiles[kMr] = {kByChannels<Group, 1>, kByChannels<Group, 2>, kByChannels<Group, 3>,
                                       kByChannels<Group, 4>};

const TileFn* const* tiles_for(int64_t group) {
  return group == 32 ? kTiles<32> : group == 64 ? kTiles<64> : kTiles<128>;
}

// ---- the panel path (batches of kPanelRows rows and more)
constexpr int64_t kPanelRows = 8, kPanelChannels = 64;

// Rows [r0, r0 + rows) of the weights as floats into w (rows, ldw = groups * group): the
// baseline's weights exactly (q * d, q - 8 for int4), zeros past k (the format pads with them).
AM_TARGET_AVX512 void dequantize_rows(const Args& p, int bits, int64_t r0, int64_t rows, float* w, int64_t ldw) {
  const __m512i low_nibble = _mm512_set1_epi32(0xf), eight = _mm512_set1_epi32(8);
  for (int64_t c = 0; c < rows; ++c) {
    const uint8_t* q = p.q + (r0 + c) * p.row_bytes;
    const uint16_t* sc = p.scales + (r0 + c) * p.groups;
    float* dst = w + c * ldw;
    for (int64_t g = 0; g < p.groups; ++g) {
      const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16(short(sc[g])));
      const uint8_t* src = q + g * p.group * bits / 8;
      float* out = dst + g * p.group;
      if (bits == 8) {
        for (int64_t v = 0; v < p.group; v += 16) {
          const __m512i b = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + v)));
          _mm512_storeu_ps(out + v, _mm512_mul_ps(_mm512_cvtepi32_ps(b), d));
        }
      } else {
        const int64_t half = p.group / 2;
        for (int64_t v = 0; v < half; v += 16) {
          const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + v)));
          const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(b, low_nibble), eight);
          const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(b, 4), eight);
          _mm512_storeu_ps(out + v, _mm512_mul_ps(_mm512_cvtepi32_ps(lo), d));
          _mm512_storeu_ps(out + half + v, _mm512_mul_ps(_mm512_cvtepi32_ps(hi), d));
        }
      }
    }
  }
}

// y[0, MR) x [j0, j0 + NR) from rows [0, MR) of x and channels [0, NR) of the float weights w
// (row stride ldw), over all of k: the tile of weights stays in L1 / L2 for every tile of rows.
template <int MR, int NR>
AM_TARGET_AVX512 void panel_tile(const Args& p, const float* x, const float* w, int64_t ldw, int64_t j0, float* y) {
  __m512 acc[MR][NR];
#pragma GCC unroll 4
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) acc[i][c] = _mm512_setzero_ps();
  int64_t t = 0;
  for (; t + 16 <= p.k; t += 16) {
    __m512 wv[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) wv[c] = _mm512_loadu_ps(w + c * ldw + t);
    fma_rows<MR, NR, false>(acc, wv, x + t, p.ldx, 0);
  }
  if (t < p.k) {  // the tail: masked, x not read past k
    const __mmask16 mask = chunk_mask(p.k - t);
    __m512 wv[NR];
#pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) wv[c] = _mm512_maskz_loadu_ps(mask, w + c * ldw + t);
    fma_rows<MR, NR, true>(acc, wv, x + t, p.ldx, mask);
  }
  store_tile<MR, NR>(acc, p, j0, y);
}

using PanelTileFn = void (*)(const Args&, const float*, const float*, int64_t, int64_t, float*);
template <int MR>
constexpr PanelTileFn kPanelByChannels[kNr] = {panel_tile<MR, 1>, panel_tile<MR, 2>, panel_tile<MR, 3>,
                                               panel_tile<MR, 4>};
constexpr const PanelTileFn* kPanelTiles[kMr] = {kPanelByChannels<1>, kPanelByChannels<2>, kPanelByChannels<3>,
                                                 kPanelByChannels<4>};

void panel_gemm(const Args& p, int bits, int64_t m, int64_t n) {
  const int64_t ldw = p.groups * p.group, tiles = (n + kPanelChannels - 1) / kPanelChannels;
  // a tile is worth a thread from ~256K multiply-adds on
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 18) / std::max<int64_t>(1, m * p.k * kPanelChannels));
  parallel_for(0, tiles, grain, [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> w;
    if (w.size() < size_t(kPanelChannels * ldw)) w.resize(size_t(kPanelChannels * ldw));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n0 = t * kPanelChannels, rows = std::min(kPanelChannels, n - n0);
      dequantize_rows(p, bits, n0, rows, w.data(), ldw);
      // channels outer: 4 channels' weights (4 * 4 k bytes) are reused by every tile of rows
      for (int64_t c0 = 0; c0 < rows; c0 += kNr)
        for (int64_t i = 0; i < m; i += kMr)
          kPanelTiles[std::min<int64_t>(kMr, m - i) - 1][std::min<int64_t>(kNr, rows - c0) - 1](
              p, p.x + i * p.ldx, w.data() + c0 * ldw, ldw, n0 + c0, p.y + i * p.ldy);
    }
  });
}

}  // namespace

void weight_only_gemm_avx512(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales,
                             int64_t n, int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y,
                             int64_t ldy) {
  const int64_t groups = (k + group - 1) / group;
  const Args p{x, ldx, q, scales, k, group, groups, groups * group * bits / 8, bias, relu, y, ldy};
  if (m >= kPanelRows) return panel_gemm(p, bits, m, n);
  const int64_t n_blocks = (n + kNr - 1) / kNr;
  // a chunk of blocks is worth a thread from ~64K weights on
  const int64_t grain = std::max<int64_t>(1, 65536 / (k * kNr));
  if (bits == 4) {
    const int64_t ldx4 = (p.row_bytes + 63) / 64 * 128, half = group / 2;
    std::vector<float> x4(size_t(m * ldx4), 0.0f);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t b = 0; b < ldx4 / 128; ++b)
        for (int j = 0; j < 8; ++j)
          for (int64_t L = 0; L < 16; ++L) {
            const int64_t e = b * 128 + e4(L, j, half);
            if (e < k) x4[size_t(i * ldx4 + b * 128 + j * 16 + L)] = x[i * ldx + e];
          }
    parallel_for(0, n_blocks, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t r0 = b * kNr, nr = std::min<int64_t>(kNr, n - r0);
        for (int64_t i = 0; i < m; i += kMr4)  // the block's weights stay in L1 across the row tiles
          kTiles4[std::min<int64_t>(kMr4, m - i) - 1][nr - 1](p, x4.data() + i * ldx4, ldx4, r0, y + i * ldy);
      }
    });
    return;
  }
  const TileFn* const* tiles = tiles_for(group);
  parallel_for(0, n_blocks, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kNr, nr = std::min<int64_t>(kNr, n - r0);
      for (int64_t i = 0; i < m; i += kMr)
        tiles[std::min<int64_t>(kMr, m - i) - 1][nr - 1](p, x + i * ldx, r0, y + i * ldy);
    }
  });
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
