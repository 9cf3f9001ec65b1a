// Weight-only quantisation for memory-bound inference (batch 1 to 16): the weights are stored
// in 8 or 4 bits with one 16-bit scale per group of `group` consecutive k (ggml's Q8_0 / Q4_0,
// torchao's int4 weight-only), the activations stay float, and the GEMM dequantises the weights
// in registers, so the weights cross the memory bus at 1/4 or 1/8 of their float32 size.
//
// Formats, per output channel n and group g (k in [g*group, (g+1)*group)):
//   int8: q = round_half_even(w / d), d = max|w| / 127, q in [-127, 127]; w ~ q * d
//   int4: d = m / -8 with m the element of largest magnitude (its sign kept, as Q4_0), q =
//         clamp(round_half_even(w / d) + 8, 0, 15); w ~ (q - 8) * d. Two per byte: byte i of a
//         group holds element i in its low nibble and element i + group/2 in its high nibble.
//   d is stored as IEEE float16 bits, and the kernels use exactly that rounded d.
// K is padded with zeros to a multiple of `group` (32, 64 or 128).
#pragma once
#include <cstdint>

namespace aimass::quant {

// Bytes per row of q and groups per row.
int64_t weight_only_row_bytes(int64_t k, int64_t group, int bits);
int64_t weight_only_groups(int64_t k, int64_t group);
// ValueError unless bits is 4 or 8 and group is 32, 64 or 128, n and k positive.
void check_weight_only_format(int64_t n, int64_t k, int64_t group, int bits);

// w: (n, k) row-major (row stride ldw). q: (n, weight_only_row_bytes), scales: (n, groups) fp16.
// ValueError on a non-finite weight.
void quantize_weight_only(const float* w, int64_t n, int64_t k, int64_t ldw, int64_t group, int bits, uint8_t* q,
                          uint16_t* scales);
// The float weights the format stands for: w (n, k) contiguous.
void dequantize_weight_only(const uint8_t* q, const uint16_t* scales, int64_t n, int64_t k, int64_t group, int bits,
                            float* w);

// y (m, n; row stride ldy) = x (m, k; row stride ldx) @ dequant(W)^T + bias, then ReLU when asked.
// The weights are dequantised in registers, never written out. bias: (n,) or null. Thread pool
// over N.
void weight_only_gemm(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales, int64_t n,
                      int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y, int64_t ldy);

// The kernel weight_only_gemm takes now: "avx512" (weight_only_avx512.cpp), "avx2"
// (weight_only_avx2.cpp) or "baseline". All dequantise to the same float weights; their sums
// differ by float rounding only (tested: |y - exact| <= 1e-5 * sum_k |x * w|).
const char* weight_only_kernel_name();

}  // namespace aimass::quant
