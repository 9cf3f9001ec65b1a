// Tensor-level int8 / int4 ops on the quantisation kernels of csrc/quant (int8_gemm.h,
// quantize.h, weight_only.h): the checks on shapes, dtypes and devices live here, the kernels
// trust their arguments. Inference only: nothing here records autograd history.
// Devices: the CPU ops call csrc/quant directly (on weights packed by pack_int8); CUDA tensors go
// through the kernel table (ops/kernels/quant.h, ops/cuda/quant_*.cu), the int8 ones on weights
// prepared by pack_int8_cuda. Every operand of one call lives on one device (ValueError naming
// the odd one out otherwise). quantize_per_channel_s8 / quantize_weight_only /
// dequantize_weight_only run on the CPU whatever the device (preparation, not inference) and
// return tensors on the input's device.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>

#include "core/tensor.h"
#include "ops/conv.h"
#include "quant/int8_gemm.h"

namespace aimass {

// How the float activations entering an int8 op become u8: per row at run time (dynamic), or one
// (scale, zero) fixed by calibration (static).
struct ActivationQuant {
  bool dynamic = true;
  float scale = 1.0f;  // static only
  int32_t zero = 0;    // static only, in [0, 255]
};

// w: float (N, K) -> {int8 (N, K), float32 scale (N,)}: symmetric, per output channel.
std::pair<Tensor, Tensor> quantize_per_channel_s8(const Tensor& w);
// w: float (N, K) -> {uint8 q (N, row_bytes), float16 scales (N, groups)} (quant/weight_only.h).
std::pair<Tensor, Tensor> quantize_weight_only(const Tensor& w, int64_t group, int bits);
// The float32 (N, K) weights q and scales stand for.
Tensor dequantize_weight_only(const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits);

// Packs int8 (N, K) weights (on the CPU) for int8_linear / int8_conv2d on the CPU.
std::shared_ptr<const quant::PackedInt8Weights> pack_int8(const Tensor& w_int8);

// int8 (N, K) weights prepared for the CUDA kernels (the layout of ops/kernels/quant.h): w int8
// (Np, Kp), K and N padded with zeros to multiples of 4; col_sum int32 (Np,); on w_int8's device.
struct CudaInt8Weights {
  int64_t n = 0, k = 0;
  Tensor w, col_sum;
};
// w_int8: int8 (N, K) on a CUDA device (padded and summed on the host, once: cache the result).
std::shared_ptr<const CudaInt8Weights> pack_int8_cuda(const Tensor& w_int8);

// x: float (..., K) -> float32 (..., N) = act_quant(x) @ W^T dequantised with w_scale (N,), plus
// bias (N,) (undefined: none), ReLU fused when `relu`.
Tensor int8_linear(const Tensor& x, const quant::PackedInt8Weights& w, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu);
// The same on CUDA: x on w's device.
Tensor int8_linear(const Tensor& x, const CudaInt8Weights& w, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu);
// The same with the weights given as int8 (N, K) on x's device, prepared for it on every call
// (for one-off calls and tests; layers cache the packed weights).
Tensor int8_linear(const Tensor& x, const Tensor& w_int8, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu);
// x: float (N, C, H, W) -> float32 (N, O, OH, OW): im2col of u8 activations (padding with the zero
// point, so padded pixels are exact zeros) into the int8 GEMM. w packs (O, C * KH * KW). groups 1.
// Runs on chunks of images (im2col buffer + GEMM output <= 32 MiB a chunk), one GEMM a chunk.
Tensor int8_conv2d(const Tensor& x, const quant::PackedInt8Weights& w, int64_t kh, int64_t kw, const Tensor& w_scale,
                   const Tensor& bias, const Conv2dParams& p, const ActivationQuant& aq, bool relu);
// The same on CUDA (im2col quantising as it gathers, then the int8 GEMM, chunks of <= 64 MiB).
Tensor int8_conv2d(const Tensor& x, const CudaInt8Weights& w, int64_t kh, int64_t kw, const Tensor& w_scale,
                   const Tensor& bias, const Conv2dParams& p, const ActivationQuant& aq, bool relu);
// x: float (..., K) -> float32 (..., N) = x @ dequant(q, scales)^T + bias, ReLU when asked.
Tensor weight_only_linear(const Tensor& x, const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits,
                          const Tensor& bias, bool relu);

// table: int8 (num, dim) with float32 scale (num,) per row; indices: any shape of integers in
// [0, num) -> float32 (*indices.shape, dim) = table[i] * scale[i]. IndexError outside the range.
Tensor int8_embedding(const Tensor& indices, const Tensor& table, const Tensor& scale);

}  // namespace aimass
