// The per-ISA kernels behind int8_gemm.h, quantize.h and weight_only.h: declarations only, for
// the dispatchers in int8_gemm.cpp / quantize.cpp / weight_only.cpp. Each is defined with its
// target attribute (core/cpu_isa.h) in its own file and may be called only at its level:
//   *_avx512_vnni: cpu_has_avx512_vnni();  *_avx512: cpu_isa() == Avx512;  *_avx2: >= Avx2.
// Not a public header: the contract is the three public ones.
#pragma once
#include <cstdint>

#include "quant/int8_gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define AM_QUANT_X86 1
#endif

namespace aimass::quant::detail {

// ---------------------------------------------------------------- int8 GEMM
// What a tile writes: the raw accumulators (S32) or the epilogue of int8_gemm.h as float (F32)
// or requantised to u8 (U8). c is int32_t*, float* or uint8_t*, row stride ldc.
enum class Int8Out { S32, F32, U8 };
struct Int8Output {
  Int8Out kind = Int8Out::S32;
  void* c = nullptr;
  int64_t ldc = 0;
  const Int8Epilogue* ep = nullptr;  // F32 and U8
  float inv_out_scale = 1.0f;        // U8: 1 / out_scale
  float out_zero = 0.0f;             // U8
};

// One tile: rows [m0, m0 + rows) of C (a points at row m0 of A) x blocks [nb0, nb0 + blocks) of
// 16 columns, accumulated over all of K and written through the epilogue (columns >= w.n are
// not written). rows <= the kernel's tile height, blocks <= its tile width (below).
using Int8TileFn = void (*)(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                            int64_t nb0, int64_t blocks, const Int8Output& out);
void int8_tile_avx512_vnni(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                           int64_t nb0, int64_t blocks, const Int8Output& out);
constexpr int64_t kVnniTileRows = 8, kVnniTileBlocks = 3;  // 8 x 48: 24 zmm accumulators
// Small M (rows <= 4, taken when M <= kVnniSmallRows): up to 8 blocks (128 columns) a tile.
void int8_small_tile_avx512_vnni(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                                 int64_t nb0, int64_t blocks, const Int8Output& out);
constexpr int64_t kVnniSmallRows = 4, kVnniSmallBlocks = 8;
void int8_tile_avx2(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w, int64_t nb0,
                    int64_t blocks, const Int8Output& out);
constexpr int64_t kAvx2TileRows = 4, kAvx2TileBlocks = 1;  // 4 x 16: 8 ymm accumulators
// Small M (rows <= 2, taken when M <= kAvx2SmallRows): 2 blocks (32 columns) a tile.
void int8_small_tile_avx2(const uint8_t* a, int64_t lda, int64_t rows, int64_t m0, const PackedInt8Weights& w,
                          int64_t nb0, int64_t blocks, const Int8Output& out);
constexpr int64_t kAvx2SmallRows = 2, kAvx2SmallBlocks = 2;

// ---------------------------------------------------------------- quantisation
// Over x[0, k): lo = min(0, min x), hi = max(0, max x); returns false when some x is NaN or +-inf.
bool row_range_avx512(const float* x, int64_t k, float* lo, float* hi);
bool row_range_avx2(const float* x, int64_t k, float* lo, float* hi);
// q[i] = clamp(round_half_even(x[i] * inv_scale) + zero, 0, 255), NaN -> 0, as the baseline.
void quantize_span_u8_avx512(const float* x, int64_t count, float inv_scale, int32_t zero, uint8_t* q);
void quantize_span_u8_avx2(const float* x, int64_t count, float inv_scale, int32_t zero, uint8_t* q);

// ---------------------------------------------------------------- weight-only GEMM
// weight_only_gemm (weight_only.h) with its arguments already checked, m > 0.
void weight_only_gemm_avx512(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales,
                             int64_t n, int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y,
                             int64_t ldy);
void weight_only_gemm_avx2(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales, int64_t n,
                           int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y, int64_t ldy);

}  // namespace aimass::quant::detail
