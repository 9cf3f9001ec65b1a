#include "autograd/loss.h"

#include "autograd/function_util.h"
#include "ops/loss.h"

namespace aimass::autograd {

namespace {

struct PointwiseLossBackward final : Node {
  PointwiseLoss loss;
  SavedTensor input, target, weight, pos_weight;
  std::string name() const override { return std::string(loss.name) + "_backward"; }
  void release_saved() override { input.release(); target.release(); weight.release(); pos_weight.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor()};
    const std::string n = name();
    auto [gi, gt] = raw::pointwise_loss_backward(loss, grads[0], input.get(n.c_str()), target.get(n.c_str()),
                                                 weight.get(n.c_str()), pos_weight.get(n.c_str()), next[0].valid(),
                                                 next[1].valid());
    return {gi, gt};
  }
};

struct DistillationBackward final : Node {
  SavedTensor student, teacher;
  double temperature = 1;
  Reduction reduction = Reduction::BatchMean;
  std::string name() const override { return "distillation_loss_backward"; }
  void release_saved() override { student.release(); teacher.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor()};
    const char* n = "distillation_loss_backward";
    auto [gs, gt] = raw::distillation_loss_backward(grads[0], student.get(n), teacher.get(n), temperature, reduction,
                                                    next[0].valid(), next[1].valid());
    return {gs, gt};
  }
};

}  // namespace

namespace {

Tensor record_pointwise_loss(const PointwiseLoss& loss, const Tensor& input, const Tensor& target,
                             const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor()) {
  Tensor out = raw::pointwise_loss(loss, input, target, weight, pos_weight);
  const bool target_grad = loss.kind != LossKind::BceWithLogits;
  if (!any_requires_grad({&input, target_grad ? &target : nullptr})) return out;
  auto node = std::make_shared<PointwiseLossBackward>();
  node->next = {gradient_edge(input), target_grad ? gradient_edge(target) : Edge()};
  node->loss = loss;
  node->input = SavedTensor(input);
  node->target = SavedTensor(target);
  node->weight = SavedTensor(weight);
  node->pos_weight = SavedTensor(pos_weight);
  set_history({out}, node);
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return record_pointwise_loss({LossKind::Mse, reduction, 0.0, "mse_loss"}, input, target);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return record_pointwise_loss({LossKind::L1, reduction, 0.0, "l1_loss"}, input, target);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction) {
  return record_pointwise_loss({LossKind::Huber, reduction, delta, "huber_loss"}, input, target);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  return record_pointwise_loss({LossKind::BceWithLogits, reduction, 0.0, "binary_cross_entropy_with_logits"}, input,
                               target, weight, pos_weight);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  const LossKind kind = log_target ? LossKind::KlDivLogTarget : LossKind::KlDiv;
  return record_pointwise_loss({kind, reduction, 0.0, "kl_div"}, input, target);
}

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature,
                         Reduction reduction) {
  Tensor out = raw::distillation_loss(student_logits, teacher_logits, temperature, reduction);
  if (!any_requires_grad({&student_logits, &teacher_logits})) return out;
  auto node = make_node<DistillationBackward>({&student_logits, &teacher_logits});
  node->student = SavedTensor(student_logits);
  node->teacher = SavedTensor(teacher_logits);
  node->temperature = temperature;
  node->reduction = reduction;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
