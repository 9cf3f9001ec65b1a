// 2-D convolution (NCHW, cross-correlation as in PyTorch and Keras) and its gradients.
// CPU: im2col + BLAS GEMM (ops/cpu/conv.cpp); CUDA: cuDNN (ops/cuda/conv.cu).
#pragma once
#include <cstdint>
#include <utility>

#include "core/tensor.h"

namespace aimass {

struct Conv2dParams {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;  // zero padding, may be asymmetric
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

// TensorFlow/Keras "same": out = ceil(in / stride); the total padding max((out-1)*stride + (k-1)*dilation + 1 - in, 0)
// is split with the extra pixel at the end (bottom/right). Returns {before, after}.
std::pair<int64_t, int64_t> same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation);

// x: (N, C, H, W), w: (O, C/groups, KH, KW), bias: (O,) or undefined -> (N, O, OH, OW) with
// OH = (H + pad_top + pad_bottom - (KH - 1) * dilation_h - 1) / stride_h + 1 (likewise OW).
// Floating x and w of one dtype; 16-bit floats compute in float32 and return their dtype.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p);

struct Conv2dGrads {
  Tensor x, w, bias;  // undefined where not asked for
};
// The gradients of conv2d given grad_out (N, O, OH, OW), each in its input's dtype.
Conv2dGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                            bool need_x, bool need_w, bool need_bias);

}  // namespace aimass
