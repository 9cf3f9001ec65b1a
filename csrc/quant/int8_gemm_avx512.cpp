// The AVX-512 VNNI tile of the int8 GEMM (int8_gemm.h, kernels.h): C tile (rows <= 8, 16 x
// blocks <= 48 columns) in 24 zmm accumulators for the whole of K. Per 4 k: one 64-byte load
// of the packed weights per block (16 columns x 4 k, the layout's block row), one 4-byte
// broadcast of A per row, and a vpdpbusd per (row, block): u8 x s8 quads summed into s32
// with no intermediate saturation, so the result is the exact integer sum.
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <cstring>

#include "core/cpu_isa.h"

// GCC 12's own AVX-512 intrinsics start from _mm512_undefined_*() and warn about it.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace aimass::quant::detail {

namespace {

// 4 bytes of A as one int32 lane value; `have` < 4 at the end of a row (the rest 0, and never
// read: the row may end there).
inline int32_t quad(const uint8_t* p, int64_t have) {
  int32_t v = 0;
  std::memcpy(&v, p, size_t(have < 4 ? have : 4));
  return v;
}

// The epilogue of one (row, 16 columns) vector, bit for bit the baseline's (int8_gemm.cpp):
// the same float operations in the same order (no FMA contraction: separate mul and add).
AM_TARGET_AVX512_VNNI inline void write16(__m512i acc, int64_t row, int64_t col, __mmask16 mask,
                                          const PackedInt8Weights& w, const Int8Output& out) {
  if (out.kind == Int8Out::S32) {
    _mm512_mask_storeu_epi32(static_cast<int32_t*>(out.c) + row * out.ldc + col, mask, acc);
    return;
  }
  const Int8Epilogue& ep = *out.ep;
  const int64_t ai = ep.a_per_row ? row : 0;
  const __m512i cs = _mm512_loadu_si512(w.col_sum.data() + col);  // n_padded entries: a whole vector
  const __m512i centred = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(ep.a_zero[ai]), cs));
  const __m512 ws = _mm512_maskz_loadu_ps(mask, ep.w_scale + col);
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(centred), _mm512_mul_ps(_mm512_set1_ps(ep.a_scale[ai]), ws));
  if (ep.bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, ep.bias + col));
  if (ep.relu) v = _mm512_max_ps(_mm512_setzero_ps(), v);  // as std::max(v, 0): NaN and -0 kept
  if (out.kind == Int8Out::F32) {
    _mm512_mask_storeu_ps(static_cast<float*>(out.c) + row * out.ldc + col, mask, v);
    return;
  }
  __m512 q = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(out.inv_out_scale)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm512_add_ps(q, _mm512_set1_ps(out.out_zero));
  q = _mm512_min_ps(_mm512_max_ps(q, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));  // NaN -> 0
  _mm_mask_storeu_epi8(static_cast<uint8_t*>(out.c) + row * out.ldc + col, mask,
                       _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(q)));
}

// Bytes ahead of the current k4 step that the small-M tiles prefetch in each block's stream.
constexpr int64_t kPrefetchAhead = 1024;

template <int R, int NB, bool kPrefetch>
AM_TARGET_AVX512_VNNI __attribute__((always_inline)) inline void step(__m512i (&acc)[R][NB], const int8_t* wp,
                                                                      int64_t block_bytes, const int32_t* aq) {
  __m512i wv[NB];
#pragma GCC unroll 8
  for (int h = 0; h < NB; ++h) {
    if (kPrefetch) _mm_prefetch(reinterpret_cast<const char*>(wp + h * block_bytes + kPrefetchAhead), _MM_HINT_T0);
    wv[h] = _mm512_loadu_si512(wp + h * block_bytes);
    // Kept in a register: otherwise GCC folds the load into every row's vpdpbusd (R loads of
    // the same 64 bytes), which made 3 rows slower than 4.
    if (R > 1) __asm__("" : "+v"(wv[h]));
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    const __m512i av = _mm512_set1_epi32(aq[i]);
#pragma GCC unroll 8
    for (int h = 0; h < NB; ++h) acc[i][h] = _mm512_dpbusd_epi32(acc[i][h], av, wv[h]);
  }
}

// Prefetching pays off when few rows share each weight vector (memory-bound); the 8-row tile
// spends its loads on A and the hardware prefetcher keeps up with it.
template <int R, int NB, bool kPrefetch = (R <= 4)>
AM_TARGET_AVX512_VNNI void tile(const uint8_t* a, int64_t lda, int64_t, int64_t m0, const PackedInt8Weights& w,
                                int64_t nb0, int64_t, const Int8Output& out) {
  const int64_t k4_count = w.k_padded / 4, k4_full = w.k / 4, block_bytes = k4_count * 64;
  const int8_t* wp = w.data.data() + nb0 * block_bytes;
  __m512i acc[R][NB];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int h = 0; h < NB; ++h) acc[i][h] = _mm512_setzero_si512();
  // k % 4 left: the last step reads A's last bytes through quad() (the weights are zero past k,
  // and A may end there); one loop for both, so the accumulators have one home.
  for (int64_t k4 = 0; k4 < k4_count; ++k4) {
    int32_t aq[R];
    if (k4 < k4_full) {
#pragma GCC unroll 8
      for (int i = 0; i < R; ++i) std::memcpy(&aq[i], a + i * lda + k4 * 4, 4);
    } else {
      for (int i = 0; i < R; ++i) aq[i] = quad(a + i * lda + k4 * 4, w.k - k4 * 4);
    }
    step<R, NB, kPrefetch>(acc, wp + k4 * 64, block_bytes, aq);
  }
  // Through memory, so that the accumulators are only ever indexed by unrolled constants and
  // stay in registers in the loop above.
  alignas(64) int32_t sums[R][NB][16];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int h = 0; h < NB; ++h) _mm512_store_si512(sums[i][h], acc[i][h]);
  for (int h = 0; h < NB; ++h) {
    const int64_t col = (nb0 + h) * 16, cols = w.n - col;
    const __mmask16 mask = __mmask16(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    for (int i = 0; i < R; ++i) write16(_mm512_load_si512(sums[i][h]), m0 + i, col, mask, w, out);
  }
}

template <int R>
constexpr Int8TileFn kByBlocks[kVnniTileBlocks] = {tile<R, 1>, tile<R, 2>, tile<R, 3>};

// kTiles[rows - 1][blocks - 1]
const Int8TileFn* const kTiles[kVnniTileRows] = {kByBlocks<1>, kByBlocks<2>, kByBlocks<3>, kByBlocks<4>,
                                                 kByBlocks<5>, kByBlocks<6>, kByBlocks<7>, kByBlocks<8>};

// Small M (rows <= 4): strips of up to 8 blocks (128 columns), so that every row keeps several
// independent vpdpbusd chains in flight (1 row x 3 blocks would wait on 3 chains' latency) and
// each weight vector loaded serves every row. 1-2 rows take the 8 blocks in one pass (16 / 24
// zmm); 3-4 rows in two passes of 4 (20 zmm each), A's rows re-read from L1.
template <int R>
AM_TARGET_AVX512_VNNI void small_tile(const uint8_t* a, int64_t lda, int64_t m0, const PackedInt8Weights& w,
                                      int64_t nb0, int64_t blocks, const Int8Output& out) {
  constexpr int kPass = R <= 2 ? 8 : 4;
  for (int64_t b = 0; b < blocks; b += kPass) {
    switch (blocks - b < kPass ? blocks - b : kPass) {
      case 1: tile<R, 1>(a, lda, R, m0, w, nb0 + b, 1, out); break;
      case 2: tile<R, 2>(a, lda, R, m0, w, nb0 + b, 2, out); break;
      case 3: tile<R, 3>(a, lda, R, m0, w, nb0 + b, 3, out); break;
      case 4: tile<R, 4>(a, lda, R, m0, w, nb0 + b, 4, out); break;
      case 5: tile<R, kPass == 8 ? 5 : 1>(a, lda, R, m0, w, nb0 + b, 5, out); break;
      case 6: tile<R, kPass == 8 ? 6 : 1>(a, lda, R, m0, w, nb0 + b, 6, out); break;
      case 7: tile<R, kPass == 8 ? 7 : 1>(a, lda, R, m0, w, nb0 + b, 7, out); break;
      default: tile<R, kPass>(a, lda, R, m0, w, nb0 + b, kPass, out); break;
    }
  }
}

}  // namespace

void int8_small_tile_avx512_vnni(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                                 int64_t nb0, int64_t blocks, const Int8Output& out) {
  static_assert(kVnniSmallRows == 4 && kVnniSmallBlocks == 8, "the switch below");
  switch (rows) {
    case 1: return small_tile<1>(a, lda, m0, w, nb0, blocks, out);
    case 2: return small_tile<2>(a, lda, m0, w, nb0, blocks, out);
    case 3: return small_tile<3>(a, lda, m0, w, nb0, blocks, out);
    default: return small_tile<4>(a, lda, m0, w, nb0, blocks, out);
  }
}

void int8_tile_avx512_vnni(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                           int64_t nb0, int64_t blocks, const Int8Output& out) {
  kTiles[rows - 1][blocks - 1](a, lda, rows, m0, w, nb0, blocks, out);
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
