#include "autograd/leaf_rules.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"

namespace aimass::autograd {

bool is_leaf(const Tensor& x) { return !x.impl()->autograd || !meta(x).grad_fn; }

Tensor grad_of(const Tensor& x) { return x.impl()->autograd ? meta(x).grad : Tensor(); }

std::string grad_fn_name(const Tensor& x) { return is_leaf(x) ? std::string() : meta(x).grad_fn->name(); }

void set_requires_grad(const Tensor& x, bool flag, const char* op) {
  AM_CHECK(is_leaf(x) || flag, RuntimeError, op, ": can only change the flag of a leaf tensor; use detach()");
  AM_CHECK(!flag || is_floating(x.dtype()), TypeError, op, ": only floating tensors can require gradients, got ",
           x.describe());
  x.impl()->requires_grad = flag;
}

void set_grad(const Tensor& x, const Tensor& g) {
  if (!g.defined()) {
    if (x.impl()->autograd) meta(x).grad = Tensor();
    return;
  }
  AM_CHECK(g.shape() == x.shape() && g.device() == x.device(), ValueError, "grad: assigned ", g.describe(),
           " to a gradient of ", x.describe());
  meta(x).grad = g;
}

void check_in_place(const Tensor& x, const char* op) {
  AM_CHECK(!(grad_enabled() && x.impl()->requires_grad), RuntimeError, op, ": in-place change of ", x.describe(),
           ", which requires grad; do it under aimass.no_grad(), or on a detach()ed tensor");
}

}  // namespace aimass::autograd
