// Counter-based random values (core/philox.h): the same seed and offset give the same values on
// every device. CPU: ops/cpu/random.cpp, ops/cpu/dropout.cpp; CUDA: ops/cuda/random.cu,
// ops/cuda/dropout.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

enum class RandomKind : uint8_t { Uniform, Normal, Integer };

// Fills contiguous out from the Philox stream (core/philox.h): element i from counter offset + i.
// Uniform in [a, b); Normal with mean a, std b; Integer in [a, b).
AIMASS_KERNEL(random, void, (RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset))
// Inverted dropout: out[i] = keep(i) ? in[i] / (1 - p) : 0 with keep(i) = u(i) >= p, where u(i) =
// uniform_from_bits(philox4x32(offset + i / 4, seed).v[i % 4]) (core/philox.h): one Philox counter
// serves four elements. in, out: contiguous, same floating dtype, n elements; p in [0, 1].
// Applied to the gradient with the same seed and offset, it is its own backward.
AIMASS_KERNEL(dropout, void, (const Tensor& in, const Tensor& out, double p, uint64_t seed, uint64_t offset))

}  // namespace aimass
