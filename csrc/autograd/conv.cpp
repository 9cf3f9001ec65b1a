#include "autograd/conv.h"

#include "autograd/function_util.h"
#include "ops/conv.h"

namespace aimass::autograd {

namespace {

struct Conv2dBackward final : Node {
  SavedTensor x, w;
  Conv2dParams params;
  std::string name() const override { return "conv2d_backward"; }
  void release_saved() override { x.release(); w.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    Conv2dGrads g = raw::conv2d_backward(grads[0], x.get("conv2d_backward"), w.get("conv2d_backward"), params,
                                         next[0].valid(), next[1].valid(), next[2].valid());
    return {g.x, g.w, g.bias};
  }
};

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  Tensor out = raw::conv2d(x, w, bias, p);
  if (!any_requires_grad({&x, &w, &bias})) return out;
  auto node = make_node<Conv2dBackward>({&x, &w, &bias});
  node->x = SavedTensor(x);
  node->w = SavedTensor(w);
  node->params = p;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
