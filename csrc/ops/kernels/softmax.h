// Softmax, log-softmax and cross-entropy over rows, with their gradients. CPU:
// ops/cpu/softmax.cpp, ops/cpu/cross_entropy.cpp; CUDA: ops/cuda/softmax.cu,
// ops/cuda/cross_entropy.cu.
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// Softmax over the last axis. in, out: (R, C) contiguous, float32 or float64 (the op layer
// widens 16-bit floats). log: log_softmax. Computed as exp(x - max) / sum, so large inputs
// do not overflow; a row of -inf gives NaN, as in NumPy/PyTorch.
AIMASS_KERNEL(softmax, void, (const Tensor& in, const Tensor& out, bool log))
// Its gradient, from the forward result y and grad_out (all (R, C) contiguous, one dtype):
// softmax: grad_in = y * (grad_out - sum_c grad_out * y); log_softmax: grad_in = grad_out -
// exp(y) * sum_c grad_out.
AIMASS_KERNEL(softmax_backward, void, (const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, bool log))
// Cross-entropy of rows of logits (N, C) contiguous, float32 or float64 (the op layer widens
// 16-bit floats). target: hard, int64 (N,) class indices, each in [0, C) or ignore_index
// (the op layer has checked); or soft, (N, C) probabilities of logits' dtype. weight: (C,)
// of logits' dtype, or undefined for all ones. eps = label_smoothing in [0, 1].
// With logp = log_softmax(logits) (written to log_probs (N, C), saved for the backward),
// loss[n] = -sum_c a[n, c] * logp[n, c] where
//   hard: a[n, c] = (1 - eps) w[y_n] [c == y_n] + (eps / C) w[c], and 0 when y_n == ignore_index;
//   soft: a[n, c] = w[c] ((1 - eps) target[n, c] + eps / C).
// A zero coefficient contributes 0 even where logp is -inf. sample_weight[n] (the mean's
// denominator terms): hard, w[y_n] (0 when ignored); soft, 1. loss, sample_weight: (N,).
AIMASS_KERNEL(cross_entropy, void,
              (const Tensor& logits, const Tensor& target, const Tensor& weight, double label_smoothing,
               int64_t ignore_index, const Tensor& loss, const Tensor& sample_weight, const Tensor& log_probs))
// Its gradient: grad_logits[n, c] = grad_loss[n] * ((sum_k a[n, k]) * exp(logp[n, c]) - a[n, c]),
// with a as above. log_probs, grad_logits: (N, C); grad_loss: (N,); all contiguous, one dtype.
AIMASS_KERNEL(cross_entropy_backward, void,
              (const Tensor& log_probs, const Tensor& target, const Tensor& weight, double label_smoothing,
               int64_t ignore_index, const Tensor& grad_loss, const Tensor& grad_logits))

}  // namespace aimass
