// The op dispatch table: each op family, its CPU kernel and its CUDA kernel, side by side.
#include "ops/kernels.h"

namespace aimass {

//                          name       CPU kernel     CUDA kernel (libaimass_cuda.so)
Kernel<UnaryFn>   unary_kernel  {"unary",   cpu::unary,   "aimass_cuda_unary"};
Kernel<BinaryFn>  binary_kernel {"binary",  cpu::binary,  "aimass_cuda_binary"};
Kernel<WhereFn>   where_kernel  {"where",   cpu::where,   "aimass_cuda_where"};
Kernel<ClampFn>   clamp_kernel  {"clamp",   cpu::clamp,   "aimass_cuda_clamp"};
Kernel<CopyFn>    copy_kernel   {"copy",    cpu::copy,    "aimass_cuda_copy"};
Kernel<FillFn>    fill_kernel   {"fill",    cpu::fill,    "aimass_cuda_fill"};
Kernel<ReduceFn>  reduce_kernel {"reduce",  cpu::reduce,  "aimass_cuda_reduce"};
Kernel<MatmulFn>  matmul_kernel {"matmul",  cpu::matmul,  "aimass_cuda_matmul"};
Kernel<GatherFn>  gather_kernel {"gather",  cpu::gather,  "aimass_cuda_gather"};
Kernel<ScatterFn> scatter_kernel{"scatter", cpu::scatter, "aimass_cuda_scatter"};
Kernel<RandomFn>  random_kernel {"random",  cpu::random,  "aimass_cuda_random"};
Kernel<SoftmaxFn> softmax_kernel{"softmax", cpu::softmax, "aimass_cuda_softmax"};
Kernel<SoftmaxBackwardFn> softmax_backward_kernel{"softmax_backward", cpu::softmax_backward, "aimass_cuda_softmax_backward"};
Kernel<CrossEntropyFn> cross_entropy_kernel{"cross_entropy", cpu::cross_entropy, "aimass_cuda_cross_entropy"};
Kernel<CrossEntropyBackwardFn> cross_entropy_backward_kernel{"cross_entropy_backward", cpu::cross_entropy_backward,
                                                             "aimass_cuda_cross_entropy_backward"};
Kernel<OptimStepFn> optim_step_kernel{"optim_step", cpu::optim_step, "aimass_cuda_optim_step"};
Kernel<GradScaleFn> grad_scale_kernel{"grad_scale", cpu::grad_scale, "aimass_cuda_grad_scale"};

}  // namespace aimass
