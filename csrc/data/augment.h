// Batch augmentation ops (checks, dtype handling, allocation); kernels in ops/{cpu,cuda}/augment.
#pragma once
#include "core/tensor.h"

namespace aimass::data {

// x: (B, C, H, W) any dtype, any device; params: int64 (B, 3) [flip, dy, dx] per sample, dy and
// dx in [0, 2 * pad] (any device) -> (B, C, H, W) new: the H x W window at (dy, dx) of x
// zero-padded by pad, mirrored left-right where flip != 0.
Tensor crop_flip(const Tensor& x, const Tensor& params, int64_t pad);
// x: (B, ...) floating; partner: int64 (B,) in [0, B); lam: (B,) in [0, 1] (any dtype and device)
// -> (B, ...) new of x's dtype: lam[b] * x[b] + (1 - lam[b]) * x[partner[b]] (16-bit floats in float32).
Tensor mixup(const Tensor& x, const Tensor& partner, const Tensor& lam);

}  // namespace aimass::data
