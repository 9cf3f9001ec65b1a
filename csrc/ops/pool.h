// 2-D max and average pooling (NCHW) and their gradients, with PyTorch's semantics for
// padding, ceil_mode and count_include_pad. CPU: ops/cpu/pool.cpp; CUDA: ops/cuda/pool.cu.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass {

struct Pool2dParams {
  int64_t kernel_h, kernel_w, stride_h, stride_w;
  int64_t pad_h = 0, pad_w = 0;        // symmetric; at most half the kernel, as in PyTorch
  bool ceil_mode = false;
  bool count_include_pad = true;       // avg_pool2d only
};

// Output length of one pooled axis: floor (or ceil) of (in + 2 pad - kernel) / stride, plus 1;
// with ceil_mode a last window that would start in the right padding is dropped (PyTorch).
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, bool ceil_mode);

// x: (N, C, H, W) floating -> (N, C, OH, OW) of x's dtype. Ties go to the first element of the
// window (row-major), NaN propagates. *indices (when given) gets int64 (N, C, OH, OW): the
// argmax's flat position h * W + w in its plane, for the backward.
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p, Tensor* indices = nullptr);
// grad_out and indices: (N, C, OH, OW) -> the gradient of x (x_shape, x_dtype).
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p, const Shape& x_shape,
                           DType x_dtype);

// The window mean; the divisor counts the padding (count_include_pad) or only the input's pixels.
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, const Shape& x_shape, DType x_dtype);

}  // namespace aimass
