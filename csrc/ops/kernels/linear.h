// The fused linear layer and its gradients (the op layer is ops/linear.h). CPU:
// ops/cpu/linear.cpp; CUDA: ops/cuda/linear.cu (cuBLASLt epilogues).
#pragma once
#include <cstdint>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

enum class LinearActivation : uint8_t { None, Relu };  // linear's fused epilogue

// out = act(x @ w^T + bias). x: (M, K), w: (N, K) (PyTorch's layout), bias: (N,) or undefined,
// out: (M, N); all contiguous, one dtype, float32 or float64 (the op layer widens 16-bit floats).
AIMASS_KERNEL(linear, void,
              (const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act, const Tensor& out))
// Its gradient from grad_out (M, N): with g = grad_out (Relu: grad_out * (out > 0), out being the
// forward's result), grad_x = g @ w (M, K), grad_w = g^T @ x (N, K), grad_bias = sum over rows of g (N,).
// Each output may be undefined when not wanted; out is undefined unless act is Relu.
AIMASS_KERNEL(linear_backward, void,
              (const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w, LinearActivation act,
               const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias))

}  // namespace aimass
