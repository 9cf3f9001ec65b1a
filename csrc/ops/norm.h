// Layer norm and batch norm: checks, dtype handling and layout around their kernels
// (ops/kernels/norm.h). 16-bit floats compute in float32 and return their own dtype; the saved
// statistics are in that compute dtype (float32 or float64).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass {

// The gradients of a normalisation: x's in its shape and dtype; weight's and bias's flat, (D,)
// or (C,), in the compute dtype (the caller knows their shapes and dtypes); undefined when not
// asked for.
struct NormGrads {
  Tensor x, weight, bias;
};

// Normalises x over its last `normalized_dims` axes; weight, bias: those axes' shape, or
// undefined. mean, rstd (when given) receive the statistics of each of the R = numel / D rows,
// shape (R,), for the backward.
// The normalized_dims of PyTorch's normalized_shape: its length, once it is checked to be x's
// trailing shape (ValueError otherwise).
int64_t layer_norm_dims(const Tensor& x, const Shape& normalized_shape);
Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps,
                  Tensor* mean = nullptr, Tensor* rstd = nullptr);
NormGrads layer_norm_backward(const Tensor& grad_y, const Tensor& x, int64_t normalized_dims, const Tensor& weight,
                              const Tensor& mean, const Tensor& rstd, bool want_weight, bool want_bias);

// x: (N, C) or (N, C, *spatial), statistics per channel. running_mean / running_var: (C,)
// floating, both or neither. Batch statistics (biased variance) when training or when there are
// no running statistics; then running_* (if any) are updated in place as
// (1 - momentum) * running + momentum * batch, with the unbiased variance for running_var.
// Otherwise running_* normalise. mean, invstd (when given) receive the (C,) statistics used.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps, Tensor* mean = nullptr,
                  Tensor* invstd = nullptr);
// batch_statistics: whether the forward used the batch's statistics (they then depend on x).
NormGrads batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, bool batch_statistics, bool want_weight, bool want_bias);

}  // namespace aimass
