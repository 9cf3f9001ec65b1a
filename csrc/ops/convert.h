// Moving a tensor between dtypes, devices and layouts.
#pragma once
#include "core/scalar.h"
#include "core/tensor.h"

namespace aimass {

// The tensor itself when it already has `dtype` and copy is false; otherwise a new tensor.
Tensor to_dtype(const Tensor& x, DType dtype, bool copy = false);
Tensor to_device(const Tensor& x, Device device, bool copy = false);
Tensor contiguous(const Tensor& x);  // x itself when already contiguous
Tensor clone(const Tensor& x);       // always a new contiguous tensor
// dst[...] = src, src broadcast to dst's shape, converted to dst's dtype, from any device.
void copy_into(const Tensor& dst, const Tensor& src, const char* op = "copy");
void fill_(const Tensor& dst, Scalar value);
// The value of a one-element tensor (ValueError otherwise), as a Scalar of its kind.
Scalar item(const Tensor& x);
// A 0-d tensor holding `value` with the given dtype on `device`.
Tensor scalar_tensor(Scalar value, DType dtype, Device device);

}  // namespace aimass
