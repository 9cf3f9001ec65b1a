// Keras's cross-entropy losses, with Keras's semantics: classes on the LAST axis, and
// from_logits=false meaning the input holds probabilities. Probabilities are normalised to sum
// to 1 over the classes and clipped to [eps, 1 - eps] with eps = 1e-7 (Keras's
// backend.epsilon()) before the log, as Keras does; from_logits=true takes log_softmax /
// log-sigmoid of the input (stable). The per-sample loss is then reduced per `reduction`
// (Mean: Keras's "sum_over_batch_size"; None: the per-sample losses).
//
// When the model's last layer is a softmax or sigmoid, training fuses it away instead (nn/logits.h):
// the loss is then computed from the logits, as Keras does internally.
#pragma once
#include "core/tensor.h"
#include "ops/nn.h"

namespace aimass::nn {

constexpr double kKerasEpsilon = 1e-7;

// input (..., C) probabilities or logits; target (..., C) one-hot or probabilities -> per sample (...):
// -sum_c target * log p.
Tensor keras_categorical_crossentropy(const Tensor& input, const Tensor& target, bool from_logits, Reduction reduction);
// input (..., C); target (...) class indices (int, or float holding ints) -> per sample (...): -log p[target].
Tensor keras_sparse_categorical_crossentropy(const Tensor& input, const Tensor& target, bool from_logits,
                                             Reduction reduction);
// input and target (..., K), target in [0, 1] -> per sample (...): the mean over the last axis of
// -(t log p + (1 - t) log(1 - p)).
Tensor keras_binary_crossentropy(const Tensor& input, const Tensor& target, bool from_logits, Reduction reduction);

}  // namespace aimass::nn
