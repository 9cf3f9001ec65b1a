// Making tensors: constant fills, ranges and random draws (seeded by manual_seed).
#pragma once
#include "core/scalar.h"
#include "core/tensor.h"

namespace aimass {

Tensor full(const Shape& shape, Scalar value, DType dtype, Device device = Device());
// [start, stop) by step; ValueError when step is 0.
Tensor arange(Scalar start, Scalar stop, Scalar step, DType dtype, Device device = Device());
Tensor linspace(double start, double stop, int64_t num, bool endpoint, DType dtype, Device device = Device());
Tensor rand(const Shape& shape, DType dtype, Device device = Device());   // uniform [0, 1)
Tensor randn(const Shape& shape, DType dtype, Device device = Device());  // standard normal
Tensor uniform(const Shape& shape, double low, double high, DType dtype, Device device = Device());
Tensor normal(const Shape& shape, double mean, double std, DType dtype, Device device = Device());
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device = Device());

}  // namespace aimass
