// Data augmentation of image and feature batches (the op layer is data/augment.cpp). CPU:
// ops/cpu/augment.cpp; CUDA: ops/cuda/augment.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// Crop and horizontal flip of an image batch: in, out (B, C, H, W) contiguous, one dtype (any:
// values are moved, never computed); params int64 (B, 3) contiguous, [flip, dy, dx] per sample
// with dy, dx in [0, 2 * pad]. With P = in[b, c] zero-padded by pad pixels on every side,
// out[b, c, i, j] = P[i + dy, (flip ? W - 1 - j : j) + dx].
AIMASS_KERNEL(crop_flip, void, (const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out))
// Mixup of rows: in, out (B, F) contiguous, float32 or float64 (the op layer widens 16-bit
// floats); partner int64 (B,) in [0, B), lam float64 (B,), both contiguous:
// out[b] = lam[b] * in[b] + (1 - lam[b]) * in[partner[b]].
AIMASS_KERNEL(mixup, void, (const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out))

}  // namespace aimass
