// The backward pass: runs the graph from the roots in reverse topological order, summing
// the gradients that reach each node before running it.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace aimass::autograd {

// roots[i] receives gradient grads[i]; an undefined grad means "ones", allowed only for a
// one-element root. Without retain_graph the saved tensors are freed as nodes run, and a
// second backward through them raises RuntimeError.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

}  // namespace aimass::autograd
