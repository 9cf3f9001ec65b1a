// Views and layout: reshape, transpose, broadcasting, joining.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace aimass {

// NumPy broadcasting of two shapes; ValueError naming both (and the op) when they clash.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// A stride-0 view of x with `shape` (x's shape must broadcast to it).
Tensor expand(const Tensor& x, const Shape& shape, const char* op = "broadcast_to");

// One -1 in `shape` is inferred. view() fails (ValueError) when the strides do not allow a
// view; reshape() copies then.
Tensor view(const Tensor& x, const Shape& shape);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& axes);
Tensor matrix_transpose(const Tensor& x);  // x.T: all axes reversed
Tensor squeeze(const Tensor& x);           // drops every size-1 axis
Tensor squeeze(const Tensor& x, int64_t axis);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);

}  // namespace aimass
