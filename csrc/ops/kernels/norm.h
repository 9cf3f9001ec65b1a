// Layer norm and batch norm, and their gradients. CPU: ops/cpu/norm.cpp; CUDA: ops/cuda/norm.cu.
// The op layer (ops/norm.h) widens 16-bit floats: every tensor here is float32 or float64,
// contiguous, one dtype.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// Layer norm over the rows of x (R, D). weight, bias: (D,), or undefined (ones, zeros). With
// mean and the biased variance var of each row, rstd = 1 / sqrt(var + eps) and
// y = (x - mean) * rstd * weight + bias. y: (R, D); mean, rstd: (R,), saved for the backward.
AIMASS_KERNEL(layer_norm, void,
              (const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
               const Tensor& mean, const Tensor& rstd))
// Its gradient, with xhat = (x - mean) * rstd and g = grad_y * weight (grad_y where undefined):
// grad_x = rstd * (g - mean_d(g) - xhat * mean_d(g * xhat)); grad_weight = sum_r grad_y * xhat;
// grad_bias = sum_r grad_y. grad_weight, grad_bias: (D,) or undefined when not wanted.
AIMASS_KERNEL(layer_norm_backward, void,
              (const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
               const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias))

// Batch norm sees x as (N, C, S): channel c's N * S values are x[n, c, s]. mean, var, invstd,
// weight, bias: (C,); weight, bias may be undefined (ones, zeros).
//
// Statistics: mean and biased variance of each channel over its N * S values (N * S > 0).
AIMASS_KERNEL(batch_norm_stats, void, (const Tensor& x, const Tensor& mean, const Tensor& var))
// y[n, c, s] = (x[n, c, s] - mean[c]) * invstd[c] * weight[c] + bias[c]; y: (N, C, S).
AIMASS_KERNEL(batch_norm_apply, void,
              (const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight, const Tensor& bias,
               const Tensor& y))
// Its gradient, with M = N * S, xhat = (x - mean[c]) * invstd[c], sums over n and s per channel:
// grad_weight[c] = sum grad_y * xhat, grad_bias[c] = sum grad_y; grad_x = weight[c] * invstd[c] *
// (grad_y - sum grad_y / M - xhat * sum(grad_y * xhat) / M) when the statistics were the batch's
// (training), weight[c] * invstd[c] * grad_y when they were constants. grad_y, grad_x: (N, C, S);
// grad_weight, grad_bias: (C,) or undefined when not wanted.
AIMASS_KERNEL(batch_norm_backward, void,
              (const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
               bool training, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias))

}  // namespace aimass
