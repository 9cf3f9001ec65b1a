// Inverted dropout on the global Philox stream (core/philox.h), as am.rand draws from it.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass {

// Zeroes each element of x with probability p in [0, 1] and scales the rest by 1 / (1 - p),
// in x's dtype. *seed, *offset (when given) receive the stream position of the mask.
Tensor dropout(const Tensor& x, double p, uint64_t* seed = nullptr, uint64_t* offset = nullptr);
// The gradient: the same mask and scale applied to grad (x's shape), regenerated from the stream.
Tensor dropout_backward(const Tensor& grad, double p, uint64_t seed, uint64_t offset);

}  // namespace aimass
