// Loss modules: a loss kind with its options, computed by the fused ops of ops/loss.h and
// ops/nn.h. compute(input, target) -> a 0-d tensor (or per-element losses with Reduction::None).
#pragma once
#include <string>

#include "nn/module.h"
#include "ops/nn.h"

namespace aimass::nn {

enum class LossKind : uint8_t {
  CrossEntropy, BinaryCrossEntropyWithLogits, MSE, L1, Huber, KLDiv, Distillation,
  // Keras's, classes on the last axis (nn/keras_loss.h): from probabilities, or from logits.
  CategoricalCrossentropy, CategoricalCrossentropyFromLogits, SparseCategoricalCrossentropy,
  SparseCategoricalCrossentropyFromLogits, BinaryCrossentropy, BinaryCrossentropyFromLogits,
};

struct LossOptions {
  LossKind kind = LossKind::CrossEntropy;
  std::string reduction = "mean";  // "mean" | "sum" | "none" (KLDiv and Distillation also "batchmean")
  Tensor weight;                   // CrossEntropy: (C,) class weights; BCE: broadcastable to the input
  Tensor pos_weight;               // BCE
  int64_t ignore_index = -100;     // CrossEntropy
  double label_smoothing = 0.0;    // CrossEntropy
  double delta = 1.0;              // Huber
  bool log_target = false;         // KLDiv
  double temperature = 1.0;        // Distillation
};

// "cross_entropy" (PyTorch's: logits, classes on axis 1), "binary_cross_entropy_with_logits"
// (also "bce_with_logits"), "mse" (also "mean_squared_error"), "l1" (also "mae"), "huber",
// "kl_div", "distillation", and Keras's "categorical_crossentropy", "sparse_categorical_crossentropy",
// "binary_crossentropy" (from probabilities, as Keras's from_logits=False; with the suffix
// "_from_logits": from logits); ValueError otherwise.
LossKind parse_loss(const std::string& name);
const char* loss_name(LossKind kind);

class Loss : public Module {
 public:
  explicit Loss(const LossOptions& options);
  // CrossEntropy: input logits (N, C), target int (N,) classes or (N, C) probabilities.
  // Distillation: input student logits, target teacher logits. Others: input and target of one shape.
  // Virtual: a loss over a model's packed outputs (quant/distill.h) overrides it.
  virtual Tensor compute(const Tensor& input, const Tensor& target) const;
  Tensor forward(const Tensor& x) override;  // TypeError: a loss takes (input, target)
  std::string describe() const override;
  Config config() const override;
  const LossOptions& options() const { return options_; }

 private:
  LossOptions options_;
};

}  // namespace aimass::nn
