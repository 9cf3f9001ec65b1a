// The fully connected layer's op: GEMM with the bias and activation fused (the BLAS on CPU,
// cuBLASLt's epilogues on CUDA; kernels in ops/cpu/linear.cpp and ops/cuda/linear.cu).
#pragma once
#include <string>

#include "core/tensor.h"
#include "ops/kernels/linear.h"

namespace aimass {

// x: (..., in), w: (out, in) (PyTorch's layout), bias: (out,) or undefined
// -> (..., out) = act(x @ w^T + bias). The dtype is the promotion of the operands' floating
// dtypes; 16-bit floats compute in float32.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act);

// "none" / "relu"; ValueError naming linear otherwise.
LinearActivation parse_linear_activation(const std::string& name);

struct LinearGrads {
  Tensor x, w, bias;  // each undefined unless asked for; in the dtype of its operand
};
// Gradients from grad (..., out); out is linear's result (used by Relu only).
LinearGrads linear_backward(const Tensor& grad, const Tensor& out, const Tensor& x, const Tensor& w,
                            const Tensor& bias, LinearActivation act, bool need_x, bool need_w, bool need_bias);

}  // namespace aimass
