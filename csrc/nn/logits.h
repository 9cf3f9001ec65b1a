// Keras's from_logits fusion. A model whose last layer ends in a softmax (over the last axis)
// or a sigmoid -- Dense(10, activation="softmax"), or a Softmax() / Sigmoid() / Activation layer
// -- outputs probabilities; a probability loss (categorical / sparse categorical / binary
// crossentropy with from_logits=false) on them needs log(clip(p)), which loses precision and
// gradient where p rounds to 0 or 1. Training then uses, as Keras does, the same loss from the
// logits: fuse_output_activation returns a twin of the model without its last activation
// (sharing the model's layers and so its weights) and the from-logits loss.
#pragma once
#include <memory>

#include "nn/loss.h"
#include "nn/module.h"

namespace aimass::nn {

struct LogitsFusion {
  std::shared_ptr<Module> logits_model;  // null: nothing to fuse; train the model and loss as given
  std::shared_ptr<Loss> logits_loss;
};

// Fuses when the loss is a Keras crossentropy with from_logits=false and the model (a
// Sequential or a one-output Graph, nested Sequentials included) ends in the matching
// activation: softmax for categorical / sparse categorical, sigmoid for binary.
LogitsFusion fuse_output_activation(const std::shared_ptr<Module>& model, const Loss& loss);

}  // namespace aimass::nn
