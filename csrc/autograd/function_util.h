// Internal to csrc/autograd: what the differentiable ops of every family share.
#pragma once
#include <initializer_list>
#include <memory>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/reduce.h"
#include "core/tensor.h"
#include "ops/convert.h"
#include "ops/creation.h"

namespace aimass::autograd {

namespace raw = ::aimass;  // the ops without graph recording

inline Scalar num(double v) { return Scalar::from_float(v); }
inline Tensor zeros_like(const Tensor& t) { return full(t.shape(), Scalar::from_int(0), t.dtype(), t.device()); }

template <typename NodeT>
std::shared_ptr<NodeT> make_node(std::initializer_list<const Tensor*> inputs) {
  auto node = std::make_shared<NodeT>();
  for (const Tensor* t : inputs) node->next.push_back(gradient_edge(*t));
  return node;
}

// The gradient for an input: summed back to its shape and cast to its dtype.
inline Tensor to_input(const Tensor& grad, const Shape& shape, DType dtype) {
  if (!grad.defined()) return grad;
  return raw::to_dtype(sum_to(grad, shape), dtype);
}

}  // namespace aimass::autograd
