// 2-D max and average pooling and their gradients. All tensors contiguous, float32 or float64
// (the op layer widens 16-bit floats), one dtype; the op layer (ops/pool.h) has checked the
// shapes. CPU: ops/cpu/pool.cpp; CUDA: ops/cuda/pool.cu.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"
#include "ops/pool.h"

namespace aimass {

// x: (N, C, H, W) -> out, indices: (N, C, OH, OW); indices int64, the flat h * W + w of each
// window's max in its plane (first of ties; a NaN wins). Windows never lie wholly in padding.
AIMASS_KERNEL(max_pool2d, void, (const Tensor& x, const Pool2dParams& p, const Tensor& out, const Tensor& indices))
// grad_x (N, C, H, W), overwritten: grad_x[plane][indices] += grad_out (p gives the windows,
// for kernels that gather over the outputs covering each pixel).
AIMASS_KERNEL(max_pool2d_backward, void,
              (const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p, const Tensor& grad_x))
// Window means, divisor as in PyTorch: the window clipped to the padded input
// (count_include_pad) or to the input itself.
AIMASS_KERNEL(avg_pool2d, void, (const Tensor& x, const Pool2dParams& p, const Tensor& out))
// grad_x (N, C, H, W), overwritten: each grad_out spread evenly over its window.
AIMASS_KERNEL(avg_pool2d_backward, void, (const Tensor& grad_out, const Pool2dParams& p, const Tensor& grad_x))

}  // namespace aimass
