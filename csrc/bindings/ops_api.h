// The functions that are both module-level (aimass.sum(x)) and methods (x.sum()): one
// definition, bound twice, with the same keyword names.
#pragma once
#include "bindings/bindings.h"
#include "ops/index.h"
#include "ops/kernels.h"

namespace aimass::bindings {

std::optional<std::vector<int64_t>> to_axes(const py::object& axis);
Tensor reduce_py(ReduceOp op, const Tensor& x, const py::object& axis, bool keepdims, int64_t ddof);
// a op b where b is a Tensor, a Python number, an array or nested list; NotImplemented otherwise.
py::object binary_py(BinaryOp op, const Tensor& a, const py::object& b, bool reflected);
std::vector<TensorIndex> to_index(const py::handle& obj);

}  // namespace aimass::bindings
