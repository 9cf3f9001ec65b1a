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
// convolution and pooling
Kernel<Conv2dFn> conv2d_kernel{"conv2d", cpu::conv2d, "aimass_cuda_conv2d"};
Kernel<Conv2dBackwardFn> conv2d_backward_kernel{"conv2d_backward", cpu::conv2d_backward, "aimass_cuda_conv2d_backward"};
Kernel<MaxPool2dFn> max_pool2d_kernel{"max_pool2d", cpu::max_pool2d, "aimass_cuda_max_pool2d"};
Kernel<MaxPool2dBackwardFn> max_pool2d_backward_kernel{"max_pool2d_backward", cpu::max_pool2d_backward,
                                                       "aimass_cuda_max_pool2d_backward"};
Kernel<AvgPool2dFn> avg_pool2d_kernel{"avg_pool2d", cpu::avg_pool2d, "aimass_cuda_avg_pool2d"};
Kernel<AvgPool2dBackwardFn> avg_pool2d_backward_kernel{"avg_pool2d_backward", cpu::avg_pool2d_backward,
                                                       "aimass_cuda_avg_pool2d_backward"};
// normalisation, dropout and activations
Kernel<LayerNormFn> layer_norm_kernel{"layer_norm", cpu::layer_norm, "aimass_cuda_layer_norm"};
Kernel<LayerNormBackwardFn> layer_norm_backward_kernel{"layer_norm_backward", cpu::layer_norm_backward,
                                                       "aimass_cuda_layer_norm_backward"};
Kernel<BatchNormStatsFn> batch_norm_stats_kernel{"batch_norm_stats", cpu::batch_norm_stats, "aimass_cuda_batch_norm_stats"};
Kernel<BatchNormApplyFn> batch_norm_apply_kernel{"batch_norm_apply", cpu::batch_norm_apply, "aimass_cuda_batch_norm_apply"};
Kernel<BatchNormBackwardFn> batch_norm_backward_kernel{"batch_norm_backward", cpu::batch_norm_backward,
                                                       "aimass_cuda_batch_norm_backward"};
Kernel<DropoutFn> dropout_kernel{"dropout", cpu::dropout, "aimass_cuda_dropout"};
Kernel<ActivationFn> activation_kernel{"activation", cpu::activation, "aimass_cuda_activation"};
Kernel<ActivationBackwardFn> activation_backward_kernel{"activation_backward", cpu::activation_backward,
                                                        "aimass_cuda_activation_backward"};
Kernel<PointwiseLossFn> pointwise_loss_kernel{"pointwise_loss", cpu::pointwise_loss, "aimass_cuda_pointwise_loss"};
Kernel<PointwiseLossBackwardFn> pointwise_loss_backward_kernel{"pointwise_loss_backward", cpu::pointwise_loss_backward,
                                                               "aimass_cuda_pointwise_loss_backward"};
Kernel<DistillationFn> distillation_kernel{"distillation", cpu::distillation, "aimass_cuda_distillation"};
Kernel<DistillationBackwardFn> distillation_backward_kernel{"distillation_backward", cpu::distillation_backward,
                                                            "aimass_cuda_distillation_backward"};
Kernel<LinearFn> linear_kernel{"linear", cpu::linear, "aimass_cuda_linear"};
Kernel<LinearBackwardFn> linear_backward_kernel{"linear_backward", cpu::linear_backward, "aimass_cuda_linear_backward"};
Kernel<CropFlipFn> crop_flip_kernel{"crop_flip", cpu::crop_flip, "aimass_cuda_crop_flip"};
Kernel<MixupFn> mixup_kernel{"mixup", cpu::mixup, "aimass_cuda_mixup"};
Kernel<OptimStepFn> optim_step_kernel{"optim_step", cpu::optim_step, "aimass_cuda_optim_step"};
Kernel<GradScaleFn> grad_scale_kernel{"grad_scale", cpu::grad_scale, "aimass_cuda_grad_scale"};
// k-nearest-neighbour search
Kernel<KnnFlatSearchFn> knn_flat_search_kernel{"knn_flat_search", cpu::knn_flat_search, "aimass_cuda_knn_flat_search"};
Kernel<KnnIvfSearchFn> knn_ivf_search_kernel{"knn_ivf_search", cpu::knn_ivf_search, "aimass_cuda_knn_ivf_search"};

}  // namespace aimass
