// Integer GEMM for int8 inference: C (M, N) = A (M, K) u8  x  W^T, W (N, K) s8, accumulated in
// int32, with the dequantisation / requantisation fused into the pass that writes C.
//
//   acc[m][n] = sum_k a[m][k] * w[n][k]                                        (exact, int32)
//   real[m][n] = (acc[m][n] - a_zero[m] * col_sum[n]) * a_scale[m] * w_scale[n] + bias[n]
//   (then ReLU when asked), written as float, or requantised to u8:
//   q[m][n] = clamp(round_half_even(real[m][n] / out_scale) + out_zero, 0, 255)
//
// A is quantised asymmetrically (u8 with a zero point, per row for dynamic quantisation or one
// per tensor for static); W symmetrically per output channel (zero point 0), so the zero point
// of A is removed with the weights' column sums instead of a pass over A.
//
// Kernels (chosen at run time by cpu_isa() and cpu_has_avx512_vnni(), core/cpu_isa.h; each
// computes a tile of C over all of K in registers and applies the epilogue as it stores it):
//   AVX-512 VNNI (int8_gemm_avx512.cpp): 8 rows x 48 columns, vpdpbusd (u8 x s8 quads summed
//         into s32, no intermediate saturation); for M <= 4 (batch-1 inference, bound by reading
//         W) 1-4 rows x up to 128 columns, several accumulator chains a row, W prefetched;
//   AVX2 (int8_gemm_avx2.cpp; also AVX-512 CPUs without VNNI): 4 rows x 16 columns; vpmaddubsw
//         sums pairs into s16, which saturates (255*127*2 > 32767): A's bytes are split into
//         their low 7 bits and the top bit and both halves multiplied exactly, so the result
//         equals the exact sum, never a clipped one; for M <= 2, 1-2 rows x 32 columns;
//   baseline: portable C++, the reference the others are tested against.
// Every kernel gives the same int32 sums, and the same float / u8 epilogue bit for bit.
// Every kernel reads the same packed layout (PackedInt8Weights), so a model packed once runs at
// any ISA level.
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::quant {

// W (N, K) s8 packed for the kernels: N padded to a multiple of 16, K to a multiple of 4, in
// blocks of 16 output channels x 4 k: data[((nb * k_padded / 4) + k4) * 64 + j * 4 + t] =
// w[nb * 16 + j][k4 * 4 + t] (zero where padded). One block row of 4 k is one 64-byte vector
// (VNNI's operand); AVX2 reads it as two 32-byte halves.
struct PackedInt8Weights {
  int64_t n = 0, k = 0;                // logical shape
  int64_t n_padded = 0, k_padded = 0;  // multiples of 16 and 4
  std::vector<int8_t> data;            // n_padded * k_padded bytes, layout above
  std::vector<int32_t> col_sum;        // (n_padded,): sum over k of w[n][k]
};

// w: (n, k) row-major with row stride ldw (>= k). ValueError when n or k is not positive.
PackedInt8Weights pack_int8_weights(const int8_t* w, int64_t n, int64_t k, int64_t ldw);

// How the int32 accumulators become C. Pointers are not owned. a_scale / a_zero: per row of A
// (M entries) when a_per_row, else one value for every row. w_scale: (N,). bias: (N,) or null.
struct Int8Epilogue {
  const float* a_scale = nullptr;
  const int32_t* a_zero = nullptr;
  bool a_per_row = true;
  const float* w_scale = nullptr;
  const float* bias = nullptr;
  bool relu = false;
};

// A: (m, k) u8, row stride lda >= k. C: (m, n) float, row stride ldc >= n. Runs on the thread
// pool (core/parallel.h) over blocks of M and N (only N for the small-M tiles). ValueError for m < 0, a short stride, weights
// not made by pack_int8_weights, or an epilogue without a_scale / a_zero / w_scale.
void int8_gemm_f32(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, const Int8Epilogue& ep,
                   float* c, int64_t ldc);
// As int8_gemm_f32, then requantised to u8 with (out_scale, out_zero).
void int8_gemm_u8(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, const Int8Epilogue& ep,
                  float out_scale, int32_t out_zero, uint8_t* c, int64_t ldc);
// The raw accumulators acc[m][n] (no epilogue): for tests and for callers with their own pass.
void int8_gemm_s32(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, int32_t* c, int64_t ldc);

// The kernel the calls above take now: "avx512_vnni", "avx2" or "baseline".
const char* int8_gemm_kernel_name();

}  // namespace aimass::quant
