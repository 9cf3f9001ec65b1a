#include "autograd/activation.h"

#include "autograd/function_util.h"
#include "ops/activation.h"

namespace aimass::autograd {

namespace {

struct ActivationBackward final : Node {
  ActivationOp op = ActivationOp::Gelu;
  double param = 0;
  SavedTensor x;
  std::string name() const override { return std::string(activation_name(op)) + "_backward"; }
  void release_saved() override { x.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::activation_backward(op, x.get(activation_name(op)), grads[0], param)};
  }
};

Tensor activation_with_history(ActivationOp op, const Tensor& x, double param) {
  Tensor out = raw::activation(op, x, param);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<ActivationBackward>({&x});
  node->op = op;
  node->param = param;
  node->x = SavedTensor(x);
  set_history({out}, node);
  return out;
}

}  // namespace

Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return activation_with_history(tanh_approximation ? ActivationOp::GeluTanh : ActivationOp::Gelu, x, 0);
}
Tensor silu(const Tensor& x) { return activation_with_history(ActivationOp::Silu, x, 0); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return activation_with_history(ActivationOp::LeakyRelu, x, negative_slope);
}

}  // namespace aimass::autograd
