// Quantisation of float tensors to the integer formats of the int8 kernels (int8_gemm.h):
//   asymmetric u8:  q = clamp(round_half_even(x / scale) + zero, 0, 255),  x ~ (q - zero) * scale
//   symmetric s8:   q = clamp(round_half_even(x / scale), -127, 127),      x ~ q * scale
// The u8 range always contains 0 (so zero padding and ReLU outputs are exact). A row or tensor
// holding NaN or +-inf gets scale NaN, so whatever is computed from it is NaN, as in float.
// The u8 loops are vectorised (AVX-512 / AVX2, quantize_simd.cpp) with the same bytes at every
// level: the same float operations, x * (1 / scale) then round half to even.
#pragma once
#include <cstdint>

namespace aimass::quant {

// Per row of x (m, k; row stride ldx): scale = (max(0, max_k x) - min(0, min_k x)) / 255 (1 for an
// all-zero row), zero = round(-min / scale). q: (m, k), row stride ldq. Thread pool over rows.
void quantize_rows_u8(const float* x, int64_t m, int64_t k, int64_t ldx, uint8_t* q, int64_t ldq, float* scale,
                      int32_t* zero);
// Every element of x with one (scale, zero): static activation quantisation. scale > 0.
void quantize_u8(const float* x, int64_t count, float scale, int32_t zero, uint8_t* q);
// Per output channel of w (n, k; row stride ldw): scale[n] = max_k |w[n][k]| / 127 (1 for a zero
// row); q: (n, k) contiguous. ValueError on a non-finite weight.
void quantize_weights_s8(const float* w, int64_t n, int64_t k, int64_t ldw, int8_t* q, float* scale);

}  // namespace aimass::quant
