#include "nn/loss.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/autocast.h"
#include "nn/keras_loss.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

LossKind parse_loss(const std::string& name) {
  if (name == "cross_entropy") return LossKind::CrossEntropy;
  if (name == "categorical_crossentropy") return LossKind::CategoricalCrossentropy;
  if (name == "categorical_crossentropy_from_logits") return LossKind::CategoricalCrossentropyFromLogits;
  if (name == "sparse_categorical_crossentropy") return LossKind::SparseCategoricalCrossentropy;
  if (name == "sparse_categorical_crossentropy_from_logits") return LossKind::SparseCategoricalCrossentropyFromLogits;
  if (name == "binary_crossentropy") return LossKind::BinaryCrossentropy;
  if (name == "binary_crossentropy_from_logits") return LossKind::BinaryCrossentropyFromLogits;
  if (name == "binary_cross_entropy_with_logits" || name == "bce_with_logits") return LossKind::BinaryCrossEntropyWithLogits;
  if (name == "mse" || name == "mean_squared_error") return LossKind::MSE;
  if (name == "l1" || name == "mae" || name == "mean_absolute_error") return LossKind::L1;
  if (name == "huber") return LossKind::Huber;
  if (name == "kl_div") return LossKind::KLDiv;
  if (name == "distillation") return LossKind::Distillation;
  throw ValueError("unknown loss '" + name +
                   "' (expected cross_entropy, binary_cross_entropy_with_logits, mse, l1, huber, kl_div, distillation, "
                   "categorical_crossentropy, sparse_categorical_crossentropy or binary_crossentropy)");
}

const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::CrossEntropy: return "cross_entropy";
    case LossKind::BinaryCrossEntropyWithLogits: return "binary_cross_entropy_with_logits";
    case LossKind::MSE: return "mse";
    case LossKind::L1: return "l1";
    case LossKind::Huber: return "huber";
    case LossKind::KLDiv: return "kl_div";
    case LossKind::Distillation: return "distillation";
    case LossKind::CategoricalCrossentropy: return "categorical_crossentropy";
    case LossKind::CategoricalCrossentropyFromLogits: return "categorical_crossentropy_from_logits";
    case LossKind::SparseCategoricalCrossentropy: return "sparse_categorical_crossentropy";
    case LossKind::SparseCategoricalCrossentropyFromLogits: return "sparse_categorical_crossentropy_from_logits";
    case LossKind::BinaryCrossentropy: return "binary_crossentropy";
    case LossKind::BinaryCrossentropyFromLogits: return "binary_crossentropy_from_logits";
  }
  return "?";
}

Loss::Loss(const LossOptions& options) : Module("Loss"), options_(options) {
  bool batchmean_ok = options.kind == LossKind::KLDiv || options.kind == LossKind::Distillation;
  if (!(batchmean_ok && options.reduction == "batchmean")) parse_reduction(options.reduction, loss_name(options.kind));
  AM_CHECK(options.delta > 0, ValueError, "huber: delta must be positive, got ", options.delta);
  AM_CHECK(options.temperature > 0, ValueError, "distillation: temperature must be positive, got ", options.temperature);
  set_built();
}

Tensor Loss::compute(const Tensor& input_, const Tensor& target_) const {
  const LossOptions& o = options_;
  Tensor input = autocast_widen(input_), target = autocast_widen(target_);  // losses run in float32
  auto reduction = [&] {
    return o.reduction == "batchmean" ? Reduction::BatchMean : parse_reduction(o.reduction, loss_name(o.kind));
  };
  switch (o.kind) {
    case LossKind::CrossEntropy:
      return ag::cross_entropy(input, target, o.weight, o.ignore_index, reduction(), o.label_smoothing);
    case LossKind::BinaryCrossEntropyWithLogits:
      return ag::binary_cross_entropy_with_logits(input, target, o.weight, o.pos_weight, reduction());
    case LossKind::MSE: return ag::mse_loss(input, target, reduction());
    case LossKind::L1: return ag::l1_loss(input, target, reduction());
    case LossKind::Huber: return ag::huber_loss(input, target, o.delta, reduction());
    case LossKind::KLDiv: return ag::kl_div(input, target, reduction(), o.log_target);
    case LossKind::Distillation: return ag::distillation_loss(input, target, o.temperature, reduction());
    case LossKind::CategoricalCrossentropy:
    case LossKind::CategoricalCrossentropyFromLogits:
      return keras_categorical_crossentropy(input, target, o.kind == LossKind::CategoricalCrossentropyFromLogits,
                                            reduction());
    case LossKind::SparseCategoricalCrossentropy:
    case LossKind::SparseCategoricalCrossentropyFromLogits:
      return keras_sparse_categorical_crossentropy(input, target,
                                                   o.kind == LossKind::SparseCategoricalCrossentropyFromLogits, reduction());
    case LossKind::BinaryCrossentropy:
    case LossKind::BinaryCrossentropyFromLogits:
      return keras_binary_crossentropy(input, target, o.kind == LossKind::BinaryCrossentropyFromLogits, reduction());
  }
  return Tensor();
}

Tensor Loss::forward(const Tensor&) {
  throw TypeError(str_cat("Loss(", loss_name(options_.kind), "): a loss is called with (input, target)"));
}

std::string Loss::describe() const {
  return str_cat("Loss(", loss_name(options_.kind), ", reduction='", options_.reduction, "')");
}

Config Loss::config() const {
  const LossOptions& o = options_;
  return {{"kind", loss_name(o.kind)},
          {"reduction", o.reduction},
          {"weight", tensor_values(o.weight)},
          {"pos_weight", tensor_values(o.pos_weight)},
          {"ignore_index", o.ignore_index},
          {"label_smoothing", o.label_smoothing},
          {"delta", o.delta},
          {"log_target", o.log_target},
          {"temperature", o.temperature}};
}

}  // namespace aimass::nn
