// Neural-network ops built on their own kernels (ops/kernels.h), beyond the tensor basics.
#pragma once
#include "core/tensor.h"

namespace aimass {

// Softmax (log: log_softmax) along `axis` of a floating tensor. 16-bit floats compute in
// float32 and return their own dtype.
Tensor softmax(const Tensor& x, int64_t axis, bool log);
// The gradient of softmax given its result y (same dtype) and grad_out, along the same axis.
Tensor softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log);

}  // namespace aimass
