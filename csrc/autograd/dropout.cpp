#include "autograd/dropout.h"

#include "autograd/function_util.h"
#include "core/error.h"
#include "ops/dropout.h"

namespace aimass::autograd {

namespace {

struct DropoutBackward final : Node {
  double p = 0;
  uint64_t seed = 0, offset = 0;
  std::string name() const override { return "dropout_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::dropout_backward(grads[0], p, seed, offset)};
  }
};

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!training || p == 0) {
    // The checks still run, so a bad p fails in eval mode too.
    AM_CHECK(is_floating(x.dtype()), TypeError, "dropout: needs a floating input, got ", x.describe());
    AM_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout: probability p must be in [0, 1], got ", p);
    return x;
  }
  uint64_t seed = 0, offset = 0;
  Tensor out = raw::dropout(x, p, &seed, &offset);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<DropoutBackward>({&x});
  node->p = p;
  node->seed = seed;
  node->offset = offset;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
