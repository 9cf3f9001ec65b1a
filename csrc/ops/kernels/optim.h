// Fused optimizer steps and the gradient scale-and-norm pass (csrc/optim runs them). CPU:
// ops/cpu/optim.cpp; CUDA: ops/cuda/optim.cu (multi-tensor launches).
#pragma once
#include <cstdint>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

enum class OptimAlgo : uint8_t { SGD, Adam, RMSprop, Adagrad, Lion };
// The options of one parameter group; an algorithm reads only its own.
struct OptimHyper {
  double lr = 1e-3, weight_decay = 0;
  double momentum = 0, dampening = 0;       // SGD; RMSprop's momentum
  double beta1 = 0.9, beta2 = 0.999;        // Adam (and Lion's betas)
  double eps = 1e-8;                        // Adam, RMSprop, Adagrad
  double alpha = 0.99;                      // RMSprop
  double lr_decay = 0, initial_accumulator_value = 0;  // Adagrad
  bool nesterov = false, amsgrad = false, centered = false;
  bool decoupled_weight_decay = false;      // AdamW: p *= 1 - lr * wd before the Adam update
};
// One parameter of a fused step. param: contiguous float32 or float64, updated in place; grad:
// same shape, dtype and device, contiguous; state[k]: the algorithm's buffers, same shape and
// dtype, contiguous (undefined where an option leaves one unused):
//   SGD: [momentum_buffer]           Adam: [exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)]
//   RMSprop: [square_avg, momentum_buffer (momentum > 0), grad_avg (centered)]
//   Adagrad: [sum]                   Lion: [exp_avg]
// step: this parameter's update count including this one (1 on the first). SGD's momentum
// buffer on its first update (fresh) takes the decayed gradient itself, as in PyTorch.
struct OptimParam {
  Tensor param, grad;
  Tensor state[3];
  int64_t step = 1;
  bool fresh = false;
};

// One update of every parameter in `params` (one device) by the published algorithm, as
// PyTorch's torch.optim (foreach) computes it; one pass over each parameter's memory.
AIMASS_KERNEL(optim_step, void, (OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params))
// grads: contiguous floating tensors (16-bit included) on one device. Multiplies each in place
// by scale (no write when scale == 1) and returns the sum of squares of the values before
// scaling, accumulated in double: inf or NaN when any value is non-finite. Global-norm
// clipping and the loss scaler's unscale-and-check are both this one pass.
AIMASS_KERNEL(grad_scale, double, (const std::vector<Tensor>& grads, double scale))

}  // namespace aimass
