// The AVX2 tiles of the int8 GEMM (int8_gemm.h, kernels.h): C tile (rows <= 4, 16 columns) in 8
// ymm accumulators (two halves of 8 columns per row) for the whole of K; for small M, 1-2 rows x
// 32 columns.
// vpmaddubsw sums pairs of u8 x s8 products into s16 and saturates (255 * 127 * 2 > 32767), so
// each byte of A is split, a = lo + 128 * hi with lo = a & 127 and hi = a >> 7 in {0, 1}:
//   maddubs(lo, w): |pair| <= 127 * 128 * 2 = 32512, exact;  maddubs(hi, w): |pair| <= 256, exact;
// both are widened to s32 by vpmaddwd (x 1 and x 128) and added: the exact sum of a * w.
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <cstring>

#include "core/cpu_isa.h"

namespace aimass::quant::detail {

namespace {

inline int32_t quad(const uint8_t* p, int64_t have) {
  int32_t v = 0;
  std::memcpy(&v, p, size_t(have < 4 ? have : 4));
  return v;
}

// The first `cols` (<= 8) lanes as an AVX2 load/store mask.
AM_TARGET_AVX2 inline __m256i lane_mask(int64_t cols) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The epilogue of one (row, 8 columns) vector, bit for bit the baseline's (int8_gemm.cpp).
AM_TARGET_AVX2 inline void write8(__m256i acc, int64_t row, int64_t col, int64_t cols, const PackedInt8Weights& w,
                                  const Int8Output& out) {
  if (cols <= 0) return;
  const __m256i mask = lane_mask(cols);
  if (out.kind == Int8Out::S32) {
    _mm256_maskstore_epi32(static_cast<int32_t*>(out.c) + row * out.ldc + col, mask, acc);
    return;
  }
  const Int8Epilogue& ep = *out.ep;
  const int64_t ai = ep.a_per_row ? row : 0;
  const __m256i cs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.col_sum.data() + col));
  const __m256i centred = _mm256_sub_epi32(acc, _mm256_mullo_epi32(_mm256_set1_epi32(ep.a_zero[ai]), cs));
  const __m256 ws = _mm256_maskload_ps(ep.w_scale + col, mask);
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(centred), _mm256_mul_ps(_mm256_set1_ps(ep.a_scale[ai]), ws));
  if (ep.bias) v = _mm256_add_ps(v, _mm256_maskload_ps(ep.bias + col, mask));
  if (ep.relu) v = _mm256_max_ps(_mm256_setzero_ps(), v);  // as std::max(v, 0): NaN and -0 kept
  if (out.kind == Int8Out::F32) {
    _mm256_maskstore_ps(static_cast<float*>(out.c) + row * out.ldc + col, mask, v);
    return;
  }
  __m256 q = _mm256_round_ps(_mm256_mul_ps(v, _mm256_set1_ps(out.inv_out_scale)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  q = _mm256_add_ps(q, _mm256_set1_ps(out.out_zero));
  q = _mm256_min_ps(_mm256_max_ps(q, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));  // NaN -> 0
  const __m256i qi = _mm256_cvtps_epi32(q);                                            // in [0, 255]
  const __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
  const __m128i q8 = _mm_packus_epi16(q16, q16);
  uint8_t bytes[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes), q8);
  std::memcpy(static_cast<uint8_t*>(out.c) + row * out.ldc + col, bytes, size_t(cols < 8 ? cols : 8));
}

// One 4-k step of R rows x NB blocks (block h's weights at wp + h * block_bytes).
template <int R, int NB>
AM_TARGET_AVX2 __attribute__((always_inline)) inline void step(__m256i (&acc)[R][NB][2], const int8_t* wp,
                                                               int64_t block_bytes, const int32_t* aq) {
  const __m256i low7 = _mm256_set1_epi8(0x7f), one8 = _mm256_set1_epi8(1);
  const __m256i one16 = _mm256_set1_epi16(1), c128 = _mm256_set1_epi16(128);
#pragma GCC unroll 2
  for (int h = 0; h < NB; ++h) {
    const int8_t* p = wp + h * block_bytes;
    if (R < 4) _mm_prefetch(reinterpret_cast<const char*>(p + 1024), _MM_HINT_T0);  // few rows: memory-bound
    __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));  // columns 0-7 x 4 k
    __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));  // columns 8-15
    if (R > 1) __asm__("" : "+x"(w0), "+x"(w1));  // in registers, not folded into every row's vpmaddubsw
#pragma GCC unroll 4
    for (int i = 0; i < R; ++i) {
      const __m256i av = _mm256_set1_epi32(aq[i]);
      const __m256i lo = _mm256_and_si256(av, low7);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(av, 7), one8);
      acc[i][h][0] = _mm256_add_epi32(acc[i][h][0],
                                      _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, w0), one16),
                                                       _mm256_madd_epi16(_mm256_maddubs_epi16(hi, w0), c128)));
      acc[i][h][1] = _mm256_add_epi32(acc[i][h][1],
                                      _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(lo, w1), one16),
                                                       _mm256_madd_epi16(_mm256_maddubs_epi16(hi, w1), c128)));
    }
  }
}

template <int R, int NB>
AM_TARGET_AVX2 void tile(const uint8_t* a, int64_t lda, int64_t m0, const PackedInt8Weights& w, int64_t nb0,
                         int64_t blocks, const Int8Output& out) {
  const int64_t k4_count = w.k_padded / 4, k4_full = w.k / 4, block_bytes = k4_count * 64;
  const int8_t* wp = w.data.data() + nb0 * block_bytes;
  __m256i acc[R][NB][2];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int h = 0; h < NB; ++h) acc[i][h][0] = acc[i][h][1] = _mm256_setzero_si256();
  for (int64_t k4 = 0; k4 < k4_count; ++k4) {  // one loop with the k % 4 step: see int8_gemm_avx512.cpp
    int32_t aq[R];
    if (k4 < k4_full) {
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) std::memcpy(&aq[i], a + i * lda + k4 * 4, 4);
    } else {
      for (int i = 0; i < R; ++i) aq[i] = quad(a + i * lda + k4 * 4, w.k - k4 * 4);
    }
    step<R, NB>(acc, wp + k4 * 64, block_bytes, aq);
  }
  alignas(32) int32_t sums[R][NB][2][8];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 2
    for (int h = 0; h < NB; ++h) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums[i][h][0]), acc[i][h][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(sums[i][h][1]), acc[i][h][1]);
    }
  for (int64_t h = 0; h < blocks; ++h) {
    const int64_t col = (nb0 + h) * 16, cols = w.n - col;
    for (int i = 0; i < R; ++i) {
      write8(_mm256_load_si256(reinterpret_cast<const __m256i*>(sums[i][h][0])), m0 + i, col, cols, w, out);
      write8(_mm256_load_si256(reinterpret_cast<const __m256i*>(sums[i][h][1])), m0 + i, col + 8, cols - 8, w, out);
    }
  }
}

}  // namespace

void int8_tile_avx2(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w, int64_t nb0,
                    int64_t blocks, const Int8Output& out) {
  static_assert(kAvx2TileRows == 4 && kAvx2TileBlocks == 1, "the switch below");
  switch (rows) {
    case 1: return tile<1, 1>(a, lda, m0, w, nb0, blocks, out);
    case 2: return tile<2, 1>(a, lda, m0, w, nb0, blocks, out);
    case 3: return tile<3, 1>(a, lda, m0, w, nb0, blocks, out);
    default: return tile<4, 1>(a, lda, m0, w, nb0, blocks, out);
  }
}

// Small M: 1-2 rows x 2 blocks, four / eight independent accumulator chains instead of two / four.
void int8_small_tile_avx2(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                          int64_t nb0, int64_t blocks, const Int8Output& out) {
  static_assert(kAvx2SmallRows == 2 && kAvx2SmallBlocks == 2, "the switch below");
  if (rows == 1) return blocks == 2 ? tile<1, 2>(a, lda, m0, w, nb0, 2, out) : tile<1, 1>(a, lda, m0, w, nb0, 1, out);
  return blocks == 2 ? tile<2, 2>(a, lda, m0, w, nb0, 2, out) : tile<2, 1>(a, lda, m0, w, nb0, 1, out);
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
