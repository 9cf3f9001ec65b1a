#include "autograd/linear.h"

#include "autograd/function_util.h"
#include "ops/linear.h"

namespace aimass::autograd {

namespace {

struct LinearBackward final : Node {
  SavedTensor x, w, bias, out;  // out: Relu only
  LinearActivation act = LinearActivation::None;
  std::string name() const override { return "linear_backward"; }
  void release_saved() override { x.release(); w.release(); bias.release(); out.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    const char* n = "linear_backward";
    LinearGrads g = raw::linear_backward(grads[0], out.get(n), x.get(n), w.get(n), bias.get(n), act, next[0].valid(),
                                         next[1].valid(), next[2].valid());
    return {g.x, g.w, g.bias};
  }
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act) {
  Tensor out = raw::linear(x, w, bias, act);
  if (!any_requires_grad({&x, &w, &bias})) return out;
  auto node = make_node<LinearBackward>({&x, &w, &bias});
  node->x = SavedTensor(x);
  node->w = SavedTensor(w);
  node->bias = SavedTensor(bias);
  if (act == LinearActivation::Relu) node->out = SavedTensor(out);
  node->act = act;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
