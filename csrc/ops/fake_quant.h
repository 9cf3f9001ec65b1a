// Fake quantisation for quantisation-aware training (am.quant.prepare_qat): x -> dequant(quant(x))
// on the integer grids of quant/quantize.h, computed in float, so a model trains against the
// rounding its int8 conversion will have. The backward is the straight-through estimator of
// PyTorch's fake_quantize_per_{tensor,channel}_affine: the gradient passes unchanged where x's
// rounded value lies on the grid, and is 0 where it is clamped.
//
//   per tensor, u8:   r = round_half_even(x * (1 / scale)) + zero,  y = (clamp(r, 0, 255) - zero) * scale
//   per channel, s8:  r = round_half_even(w[n] * (1 / scale[n])),    y = clamp(r, -127, 127) * scale[n]
//
// The products with 1 / scale are the ones quantize_u8 / quantize_weights_s8 compute, so a
// converted layer's integers are exactly the grid points its QAT layer trained on. NaN stays NaN
// (gradient 0). CPU only (float32 compute, the result in x's dtype): a CUDA tensor is a
// NotImplementedError that says so; the ops are outside the kernel table until a CUDA kernel exists.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass {

// x: float, any shape -> same shape and dtype. scale > 0 and finite, zero in [0, 255].
Tensor fake_quant_per_tensor_u8(const Tensor& x, float scale, int32_t zero);
// grad (x's shape) where x's r is in [0, 255], 0 elsewhere; in grad's dtype.
Tensor fake_quant_per_tensor_u8_backward(const Tensor& x, const Tensor& grad, float scale, int32_t zero);

// w: float (N, ...) (channel n is w[n], e.g. Dense (units, in), Conv2D (filters, C, KH, KW));
// scales: float (N,), positive and finite -> w's shape and dtype.
Tensor fake_quant_per_channel_s8(const Tensor& w, const Tensor& scales);
// grad (w's shape) where w's r is in [-127, 127], 0 elsewhere; in grad's dtype.
Tensor fake_quant_per_channel_s8_backward(const Tensor& w, const Tensor& grad, const Tensor& scales);

// The per-channel scales int8 conversion chooses (quantize_per_channel_s8): float32 (N,),
// max |w[n]| / 127, 1 for an all-zero channel. ValueError on a non-finite weight.
Tensor weight_scales_s8(const Tensor& w);

}  // namespace aimass
