// The rules for changing a tensor's autograd state from outside an op: which tensors may start
// or stop requiring grad, what may be assigned to .grad, and which in-place writes are refused
// (they are not recorded in the graph, so the engine could not differentiate them). The Python
// attributes (requires_grad, requires_grad_(), .grad, x[i] = v, copy_, fill_, +=) call these.
#pragma once
#include <string>

#include "core/tensor.h"

namespace aimass::autograd {

// No grad_fn: made by the user, not by a differentiable op.
bool is_leaf(const Tensor& x);
// x.grad: the accumulated gradient, undefined when there is none.
Tensor grad_of(const Tensor& x);
// The name of the op that made x ("MulBackward"); empty for leaves.
std::string grad_fn_name(const Tensor& x);
// Sets x's requires_grad flag. RuntimeError when a non-leaf would stop requiring grad (detach()
// it instead), TypeError when a non-floating tensor would start; `op` names the caller.
void set_requires_grad(const Tensor& x, bool flag, const char* op);
// x.grad = g (undefined g clears it): ValueError unless g has x's shape and device.
void set_grad(const Tensor& x, const Tensor& g);
// RuntimeError when x requires grad and grad mode is on: in-place writes to it are refused
// (do them under no_grad(), or on a detach()ed tensor).
void check_in_place(const Tensor& x, const char* op);

}  // namespace aimass::autograd
