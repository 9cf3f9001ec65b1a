// Differentiable shape ops (ops/shape.h): views, permutations, broadcasts, concatenate and stack.
// contiguous and clone (ops/convert.h) live here too: their gradient is ReshapeBackward's.
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace aimass::autograd {

Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const std::vector<int64_t>& axes);
Tensor expand(const Tensor& x, const Shape& shape, const char* op = "broadcast_to");
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor matrix_transpose(const Tensor& x);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);

}  // namespace aimass::autograd
