// Knowledge distillation in the native fit loop (Hinton, Vinyals & Dean, 2015): a student learns
// from a frozen teacher's softened outputs and from the labels. am.quant.distill
// (python/aimass/quant/_distill.py) trains the pair with nn::train_epoch:
//
//   auto pair = std::make_shared<DistillationPair>(student, teacher);
//   DistillationLoss loss(/*temperature=*/4.0, /*alpha=*/0.9);
//   StudentMetric accuracy("accuracy");
//   train_epoch(*pair, loss, optimizer /* over the student's parameters */, {&accuracy}, batches, 0, {});
//
// The pair's output packs both logits side by side, so the loop, the loss and the metrics need
// nothing new: the teacher runs batch by batch (its outputs are never stored for the whole set),
// in eval mode and without gradients.
#pragma once
#include <memory>
#include <string>

#include "metrics/streaming.h"
#include "nn/loss.h"
#include "nn/module.h"

namespace aimass::quant {

// forward(x): x (N, ...) -> (N, 2C) = [student(x) | teacher(x)], student (N, C) logits with
// their graph, teacher (N, C) logits computed in eval mode (this thread only, nn::ModeScope)
// without gradients. Children "student" and "teacher".
class DistillationPair : public nn::Module {
 public:
  DistillationPair(std::shared_ptr<nn::Module> student, std::shared_ptr<nn::Module> teacher);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "DistillationPair()"; }
};

// compute(packed (N, 2C), labels (N,) class ids) ->
//   alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))   (mean over samples)
//   + (1 - alpha) * cross_entropy(student, labels)                     (mean over samples)
// The gradient reaches the student's half only (the teacher's half carries no graph).
class DistillationLoss : public nn::Loss {
 public:
  DistillationLoss(double temperature, double alpha);
  Tensor compute(const Tensor& packed, const Tensor& labels) const override;
  std::string describe() const override;
  nn::Config config() const override;
  double temperature() const { return temperature_; }
  double alpha() const { return alpha_; }

 private:
  double temperature_, alpha_;
};

// The student's half of packed outputs: (N, 2C) -> (N, C), a view.
Tensor student_half(const Tensor& packed, const char* what);

// A streaming metric (metrics/streaming.h, by name: "accuracy", ...) of the student's half of
// the pair's packed outputs; named as the metric it wraps, so fit's history reads "accuracy".
class StudentMetric : public metrics::StreamingMetric {
 public:
  explicit StudentMetric(const std::string& name);
  void update(const Tensor& packed, const Tensor& y_true) override;
  double result() const override { return inner_->result(); }
  void reset() override { inner_->reset(); }
  std::string name() const override { return inner_->name(); }

 private:
  std::unique_ptr<metrics::StreamingMetric> inner_;
};

}  // namespace aimass::quant
