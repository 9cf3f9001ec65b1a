// The int8 / int4 inference kernels behind the CUDA path of ops/quant.h. The formulas are those of
// csrc/quant (int8_gemm.h, quantize.h, weight_only.h); the CPU kernels (ops/cpu/quant.cpp) run
// csrc/quant's and are the reference the CUDA ones (ops/cuda/quant_int8.cu,
// quant_weight_only.cu, quant_embedding.cu) are tested against. The CPU ops of ops/quant.cpp
// call csrc/quant directly (its packed weights, its thread pool); these contracts take plain
// device tensors, all contiguous.
//
// The int8 GEMM's layout (cuBLASLt's IMMA rule for row/column-major int8: K, N and the leading
// dimensions multiples of 4):
//   a      int8 (M, Kp): the u8 activations minus 128 (byte ^ 0x80), so that a signed x signed
//          GEMM serves; acc_u8 = acc_s8 + 128 * col_sum recovers the u8 sums exactly
//   w      int8 (Np, Kp): the (N, K) weights, zero where padded
//   col_sum int32 (Np,): sum over k of w[n][k]
// with Kp = round_up(K, 4), Np = round_up(N, 4).
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "ops/conv.h"

namespace aimass {

// x float32 (M, K) -> q (M, Kp), Kp >= K, columns past K the zero point (real 0); q uint8 (the
// u8 values) or int8 (the u8 values minus 128, int8_gemm's form). per_row: scale float32 (M,)
// and zero int32 (M,) are written as quantize_rows_u8 computes them (a row holding NaN or +-inf:
// scale NaN, zero 0, bytes 0); else they are (1,) and read: quantize_u8 with that (scale, zero).
AIMASS_KERNEL(quantize_u8, void,
              (const Tensor& x, const Tensor& scale, const Tensor& zero, bool per_row, const Tensor& q))
// acc[m][n] = sum_k a_u8[m][k] * w[n][k], a / w / col_sum as above, into out (M, N) (N <= Np):
//   int32   acc itself;
//   float32 (acc - a_zero * col_sum[n]) * (a_scale * w_scale[n]) + bias[n], ReLU when relu
//           (quant/int8_gemm.h's epilogue, bit for bit); a_scale float32 / a_zero int32 are
//           (M,) (per row) or (1,) (per tensor), w_scale float32 (N,), bias float32 (N,) or
//           undefined;
//   uint8   that requantised: clamp(round_half_even(v / out_scale) + out_zero, 0, 255), computed
//           as v * (1 / out_scale), as the CPU.
AIMASS_KERNEL(int8_gemm, void,
              (const Tensor& a, const Tensor& w, const Tensor& col_sum, const Tensor& a_scale, const Tensor& a_zero,
               const Tensor& w_scale, const Tensor& bias, bool relu, float out_scale, int32_t out_zero,
               const Tensor& out))
// im2col of statically quantised activations: x float32 (N, C, H, W) -> cols int8 (N * OH * OW,
// Kp) in int8_gemm's form, row (image, oy, ox), column (c, ky, kx) for c * KH * KW + ky * KW + kx
// < C * KH * KW, the rest (and pixels outside the image: padding) the zero point. groups 1.
AIMASS_KERNEL(int8_im2col, void,
              (const Tensor& x, int64_t kh, int64_t kw, const Conv2dParams& p, float scale, int32_t zero,
               const Tensor& cols))
// out float32 (M, N) = x float32 (M, K) @ dequant(q, scales)^T + bias, ReLU when relu; q uint8
// (N, weight_only_row_bytes), scales float16 (N, groups), the format of quant/weight_only.h.
AIMASS_KERNEL(weight_only_gemm, void,
              (const Tensor& x, const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits,
               const Tensor& bias, bool relu, const Tensor& out))
// out float32 (n, dim) = table[ids[i]] * scale[ids[i]]: ids int64 (n,), table int8 (num, dim),
// scale float32 (num,). An id outside [0, num) writes a row of zeros and sets bad int32 (1,) to 1
// (the op layer zeroes it before and reads it after, to raise IndexError).
AIMASS_KERNEL(int8_embedding, void,
              (const Tensor& ids, const Tensor& table, const Tensor& scale, const Tensor& out, const Tensor& bad))

}  // namespace aimass
