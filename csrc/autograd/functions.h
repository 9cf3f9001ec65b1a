// Differentiable ops: each calls the op of csrc/ops and, when an input requires grad and
// grad mode is on, records a Node whose backward is written in terms of the same ops.
// The bindings call these, so everything reachable from Python is differentiable.
#pragma once
#include <optional>
#include <vector>

#include "core/scalar.h"
#include "core/tensor.h"
#include "ops/index.h"
#include "ops/kernels.h"
#include "ops/linear.h"
#include "ops/loss.h"
#include "ops/nn.h"
#include "ops/conv.h"
#include "ops/pool.h"

namespace aimass::autograd {

Tensor unary(UnaryOp op, const Tensor& x);
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, Scalar b);
Tensor binary(BinaryOp op, Scalar a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);
Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
              int64_t ddof = 0);
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor view(const Tensor& x, const Shape& shape);
Tensor permute(const Tensor& x, const std::vector<int64_t>& axes);
Tensor expand(const Tensor& x, const Shape& shape, const char* op = "broadcast_to");
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis);
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor matrix_transpose(const Tensor& x);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor index(const Tensor& x, const std::vector<TensorIndex>& idx);
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);
Tensor to_dtype(const Tensor& x, DType dtype, bool copy = false);
Tensor to_device(const Tensor& x, Device device, bool copy = false);
Tensor contiguous(const Tensor& x);
Tensor softmax(const Tensor& x, int64_t axis, bool log);
// Gradient with respect to the logits only (the target and weight get none).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing);
Tensor clone(const Tensor& x);
// --- convolution and pooling (ops/conv.h, ops/pool.h)
// x: (N, C, H, W), w: (O, C/groups, KH, KW), bias: (O,) or undefined -> (N, O, OH, OW). Gradients for x, w, bias.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);
// x: (N, C, H, W) -> (N, C, OH, OW)
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);

// ---- normalisation, dropout and activations (ops/norm.h, ops/dropout.h, ops/activation.h)
// Normalises over the last `normalized_dims` axes of x; weight, bias: those axes' shape, or
// undefined. Gradients for x, weight, bias.
Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps);
// x: (N, C) or (N, C, *spatial), statistics per channel C. running_mean/running_var: (C,) float (may be
// undefined: then training statistics are always used, as PyTorch's track_running_stats=False).
// training: normalise with the batch statistics (biased variance) and update running_* in place,
// without recording a graph, as running = (1 - momentum) * running + momentum * batch (unbiased
// variance for running_var); eval: use running_*. Gradients for x, weight, bias.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps);
// Inverted dropout: zero with probability p, scale the rest by 1 / (1 - p); identity when
// !training or p == 0. Random bits from the global seedable Philox generator (am.manual_seed).
Tensor dropout(const Tensor& x, double p, bool training);
Tensor gelu(const Tensor& x, bool tanh_approximation);
Tensor silu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope);

// ---- linear and the losses (ops/linear.h, ops/loss.h)
// x: (..., in), w: (out, in) (PyTorch's layout), bias: (out,) or undefined -> (..., out) = act(x @ w^T + bias).
// Gradients for x, w, bias.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act);
// Elementwise losses; input and target of one shape (else ValueError: no silent broadcasting). Gradients for
// input and target where they require grad (target: mse, l1, huber, kl_div; bce: input only).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction);
Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction);
// Stable: max(x,0) - x*t + log1p(exp(-|x|)), with pos_weight (broadcast over the last axis, as PyTorch) and weight
// (broadcastable to input) optional (undefined).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction);
// PyTorch's F.kl_div: input log-probabilities; target probabilities (log_target: log-probabilities);
// pointwise target * (log target - input). Reduction adds BatchMean (sum / N).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target);
// Knowledge distillation (Hinton et al.): T^2 * KL(softmax(teacher / T) || softmax(student / T)), over the last axis,
// reduced per `reduction` (None: per row; BatchMean: over rows; Mean: over elements, as kl_div). Gradient for the
// student (and the teacher if it requires grad).
Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature,
                         Reduction reduction);

// The gradient of a broadcast: sums grad over the dims that broadcasting added or stretched,
// giving a tensor of `shape`.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace aimass::autograd
