#include "autograd/nn.h"

#include "autograd/function_util.h"
#include "ops/nn.h"

namespace aimass::autograd {

namespace {

struct SoftmaxBackward final : Node {
  SavedTensor result;
  int64_t axis;
  bool log;
  std::string name() const override { return log ? "log_softmax_backward" : "softmax_backward"; }
  void release_saved() override { result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::softmax_backward(result.get(name().c_str()), grads[0], axis, log)};
  }
};

struct CrossEntropyBackward final : Node {
  CrossEntropySaved state;  // its target and weight are held in the SavedTensors below
  SavedTensor target, weight;
  std::string name() const override { return "cross_entropy_backward"; }
  void release_saved() override {
    state.log_probs = Tensor();
    state.denominator = Tensor();
    target.release();
    weight.release();
  }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    CrossEntropySaved s = state;
    s.target = target.get("cross_entropy_backward");
    s.weight = weight.get("cross_entropy_backward");
    return {raw::cross_entropy_backward(grads[0], s)};
  }
};

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  Tensor out = raw::softmax(x, axis, log);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<SoftmaxBackward>({&x});
  node->result = SavedTensor(out);
  node->axis = axis;
  node->log = log;
  set_history({out}, node);
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
  if (!any_requires_grad({&logits}))
    return raw::cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing);
  CrossEntropySaved saved;
  Tensor out = raw::cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing, &saved);
  auto node = make_node<CrossEntropyBackward>({&logits});
  node->target = SavedTensor(saved.target);
  node->weight = SavedTensor(saved.weight);
  saved.target = Tensor();
  saved.weight = Tensor();
  node->state = std::move(saved);
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
