// 2-D convolution and its gradients. All tensors contiguous, float32 or float64 (the op layer
// widens 16-bit floats), one dtype; the op layer (ops/conv.h) has checked the shapes. CPU:
// ops/cpu/conv.cpp (im2col + GEMM); CUDA: ops/cuda/conv.cu (cuDNN).
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"
#include "ops/conv.h"

namespace aimass {

// x: (N, C, H, W), w: (O, C/g, KH, KW), bias: (O,) or undefined -> out: (N, O, OH, OW), the
// output size following p (zero padding, stride, dilation, groups).
AIMASS_KERNEL(conv2d, void,
              (const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, const Tensor& out))
// Its gradients from grad_out (N, O, OH, OW): grad_x (N, C, H, W), grad_w (O, C/g, KH, KW),
// grad_bias (O,); each overwritten, or skipped when undefined (x is then unused for grad_w
// undefined, w for grad_x undefined, but both are always passed).
AIMASS_KERNEL(conv2d_backward, void,
              (const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p, const Tensor& grad_x,
               const Tensor& grad_w, const Tensor& grad_bias))

}  // namespace aimass
