// Differentiable layer and batch normalisation (ops/norm.h).
// Part of autograd/functions.h (see there for the rules every function follows).
#pragma once
#include "core/tensor.h"

namespace aimass::autograd {

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

}  // namespace aimass::autograd
