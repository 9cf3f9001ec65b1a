// The kernel layer: one signature per op family, implemented once for CPU (ops/cpu/<family>.cpp)
// and once for CUDA (ops/cuda/<family>.cu, an extern "C" function of the name given in
// ops/kernels.cpp). Kernels trust their arguments: the op layer (ops/*.cpp) has already
// checked shapes, dtypes and devices, broadcast the inputs, and allocated the output.
// All tensors handed to one kernel call live on the same device.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dispatch.h"
#include "core/scalar.h"
#include "core/tensor.h"
#include "ops/conv.h"
#include "ops/knn.h"
#include "ops/pool.h"

namespace aimass {

enum class UnaryOp : uint8_t {
  Neg, Abs, Exp, Log, Sqrt, Tanh, Sigmoid, Relu, Sign, Square, Reciprocal, Rsqrt,
  Sin, Cos, Floor, Ceil, Round, LogicalNot,
};
enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Remainder,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,  // these produce bool
};
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }
enum class ReduceOp : uint8_t { Sum, Mean, Max, Min, Prod, ArgMax, ArgMin, Var, Any, All };
enum class RandomKind : uint8_t { Uniform, Normal, Integer };

// out = op(in). in and out: same shape, any strides, same dtype (LogicalNot: out is bool).
using UnaryFn = void (*)(UnaryOp op, const Tensor& in, const Tensor& out);
// out = a op b. a and b already broadcast to out's shape (stride-0 views), one dtype; out has
// that dtype, or bool for comparisons and logical ops. Any strides.
using BinaryFn = void (*)(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
// out = cond ? a : b. All out's shape (broadcast views); cond bool; a, b, out one dtype.
using WhereFn = void (*)(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
// out = min(max(in, lo), hi); a missing bound is the Scalar +-inf. NaN propagates.
using ClampFn = void (*)(const Tensor& in, Scalar lo, Scalar hi, const Tensor& out);
// dst = src converted to dst's dtype. Same shape and device, any strides (src may have
// stride-0 dims). Float to integer truncates toward zero; to bool is "!= 0".
using CopyFn = void (*)(const Tensor& src, const Tensor& dst);
// Every element of out (any strides) = value converted to out's dtype.
using FillFn = void (*)(const Tensor& out, Scalar value);
// Reduction over the middle axis. in: (O, R, I) contiguous; out: (O, I) contiguous.
// Sum, Prod: out dtype is sum_result_type(in); Mean, Var: floating in -> same dtype, integer
// in -> float32; Max, Min: in's dtype (R > 0 guaranteed); ArgMax, ArgMin: int64, first
// occurrence wins, NaN counts as the maximum (and minimum) as in NumPy; Any, All: bool.
// Var divides by (R - ddof). Mean of R == 0 is NaN.
using ReduceFn = void (*)(ReduceOp op, const Tensor& in, const Tensor& out, int64_t ddof);
// out[b] = a[b] @ b[b]. a: (B, M, K), b: (B, K, N), out: (B, M, N) contiguous, one dtype.
// a and b may have batch stride 0 (broadcast) and each has unit stride in one of its last
// two dims (row- or column-major matrices, ready for BLAS's transpose flags).
using MatmulFn = void (*)(const Tensor& a, const Tensor& b, const Tensor& out);
// Gather for advanced indexing. src: a view (any strides) of the part each index selects;
// offsets: int64 (G,) contiguous, in elements, added to src's offset; out: (G, *src.shape)
// contiguous. out[g, ...] = element at (src.offset + offsets[g] + sum idx_k * src.strides[k]).
using GatherFn = void (*)(const Tensor& src, const Tensor& offsets, const Tensor& out);
// The reverse: dst[offsets[g] + ...] = values[g, ...] for item assignment (later duplicates
// win), or += for the gradient of indexing (accumulate: duplicates add up; floating dtypes,
// int32 and int64). values: (G, *dst.shape), same dtype as dst, any strides (may be broadcast).
using ScatterFn = void (*)(const Tensor& dst, const Tensor& offsets, const Tensor& values, bool accumulate);
// Fills contiguous out from the Philox stream (core/philox.h): element i from counter offset + i.
// Uniform in [a, b); Normal with mean a, std b; Integer in [a, b).
using RandomFn = void (*)(RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset);

// Softmax over the last axis. in, out: (R, C) contiguous, float32 or float64 (the op layer
// widens 16-bit floats). log: log_softmax. Computed as exp(x - max) / sum, so large inputs
// do not overflow; a row of -inf gives NaN, as in NumPy/PyTorch.
using SoftmaxFn = void (*)(const Tensor& in, const Tensor& out, bool log);
// Its gradient, from the forward result y and grad_out (all (R, C) contiguous, one dtype):
// softmax: grad_in = y * (grad_out - sum_c grad_out * y); log_softmax: grad_in = grad_out -
// exp(y) * sum_c grad_out.
using SoftmaxBackwardFn = void (*)(const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, bool log);
// Cross-entropy of rows of logits (N, C) contiguous, float32 or float64 (the op layer widens
// 16-bit floats). target: hard, int64 (N,) class indices, each in [0, C) or ignore_index
// (the op layer has checked); or soft, (N, C) probabilities of logits' dtype. weight: (C,)
// of logits' dtype, or undefined for all ones. eps = label_smoothing in [0, 1].
// With logp = log_softmax(logits) (written to log_probs (N, C), saved for the backward),
// loss[n] = -sum_c a[n, c] * logp[n, c] where
//   hard: a[n, c] = (1 - eps) w[y_n] [c == y_n] + (eps / C) w[c], and 0 when y_n == ignore_index;
//   soft: a[n, c] = w[c] ((1 - eps) target[n, c] + eps / C).
// A zero coefficient contributes 0 even where logp is -inf. sample_weight[n] (the mean's
// denominator terms): hard, w[y_n] (0 when ignored); soft, 1. loss, sample_weight: (N,).
using CrossEntropyFn = void (*)(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                double label_smoothing, int64_t ignore_index, const Tensor& loss,
                                const Tensor& sample_weight, const Tensor& log_probs);
// Its gradient: grad_logits[n, c] = grad_loss[n] * ((sum_k a[n, k]) * exp(logp[n, c]) - a[n, c]),
// with a as above. log_probs, grad_logits: (N, C); grad_loss: (N,); all contiguous, one dtype.
using CrossEntropyBackwardFn = void (*)(const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                                        double label_smoothing, int64_t ignore_index, const Tensor& grad_loss,
                                        const Tensor& grad_logits);

// --- convolution and pooling (ops/conv.h, ops/pool.h). All tensors contiguous, float32 or
// float64 (the op layer widens 16-bit floats), one dtype; the op layer has checked the shapes.
// x: (N, C, H, W), w: (O, C/g, KH, KW), bias: (O,) or undefined -> out: (N, O, OH, OW), the
// output size following p (zero padding, stride, dilation, groups).
using Conv2dFn = void (*)(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                          const Tensor& out);
// Its gradients from grad_out (N, O, OH, OW): grad_x (N, C, H, W), grad_w (O, C/g, KH, KW),
// grad_bias (O,); each overwritten, or skipped when undefined (x is then unused for grad_w
// undefined, w for grad_x undefined, but both are always passed).
using Conv2dBackwardFn = void (*)(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                                  const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias);
// x: (N, C, H, W) -> out, indices: (N, C, OH, OW); indices int64, the flat h * W + w of each
// window's max in its plane (first of ties; a NaN wins). Windows never lie wholly in padding.
using MaxPool2dFn = void (*)(const Tensor& x, const Pool2dParams& p, const Tensor& out, const Tensor& indices);
// grad_x (N, C, H, W), overwritten: grad_x[plane][indices] += grad_out (p gives the windows,
// for kernels that gather over the outputs covering each pixel).
using MaxPool2dBackwardFn = void (*)(const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p,
                                     const Tensor& grad_x);
// Window means, divisor as in PyTorch: the window clipped to the padded input
// (count_include_pad) or to the input itself.
using AvgPool2dFn = void (*)(const Tensor& x, const Pool2dParams& p, const Tensor& out);
// grad_x (N, C, H, W), overwritten: each grad_out spread evenly over its window.
using AvgPool2dBackwardFn = void (*)(const Tensor& grad_out, const Pool2dParams& p, const Tensor& grad_x);

// ---- normalisation, dropout and activations (ops/{cpu,cuda}/norm, dropout, activation) ----
// Layer norm over the rows of x (R, D) contiguous, float32 or float64 (the op layer widens 16-bit
// floats). weight, bias: (D,) of x's dtype, or undefined (ones, zeros). With mean and the biased
// variance var of each row, rstd = 1 / sqrt(var + eps) and y = (x - mean) * rstd * weight + bias.
// y: (R, D); mean, rstd: (R,) of x's dtype, saved for the backward.
using LayerNormFn = void (*)(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                             const Tensor& mean, const Tensor& rstd);
// Its gradient, with xhat = (x - mean) * rstd and g = grad_y * weight (grad_y where undefined):
// grad_x = rstd * (g - mean_d(g) - xhat * mean_d(g * xhat)); grad_weight = sum_r grad_y * xhat;
// grad_bias = sum_r grad_y. grad_weight, grad_bias: (D,) or undefined when not wanted. All
// contiguous, one dtype.
using LayerNormBackwardFn = void (*)(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                     const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                     const Tensor& grad_bias);
// Batch-norm statistics of x (N, C, S) contiguous, float32 or float64: mean and biased variance
// of each channel c over its N * S values (N * S > 0). mean, var: (C,) of x's dtype.
using BatchNormStatsFn = void (*)(const Tensor& x, const Tensor& mean, const Tensor& var);
// y[n, c, s] = (x[n, c, s] - mean[c]) * invstd[c] * weight[c] + bias[c]. x, y: (N, C, S); mean,
// invstd: (C,); weight, bias: (C,) or undefined (ones, zeros); all contiguous, one dtype.
using BatchNormApplyFn = void (*)(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                                  const Tensor& bias, const Tensor& y);
// Its gradient, with M = N * S, xhat = (x - mean[c]) * invstd[c], sums over n and s per channel:
// grad_weight[c] = sum grad_y * xhat, grad_bias[c] = sum grad_y; grad_x = weight[c] * invstd[c] *
// (grad_y - sum grad_y / M - xhat * sum(grad_y * xhat) / M) when the statistics were the batch's
// (training), weight[c] * invstd[c] * grad_y when they were constants. grad_weight, grad_bias:
// (C,) or undefined when not wanted. Layouts as in BatchNormApplyFn.
using BatchNormBackwardFn = void (*)(const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                                     const Tensor& weight, bool training, const Tensor& grad_x,
                                     const Tensor& grad_weight, const Tensor& grad_bias);
// Inverted dropout: out[i] = keep(i) ? in[i] / (1 - p) : 0 with keep(i) = u(i) >= p, where u(i) =
// uniform_from_bits(philox4x32(offset + i / 4, seed).v[i % 4]) (core/philox.h): one Philox counter
// serves four elements. in, out: contiguous, same floating dtype, n elements; p in [0, 1].
// Applied to the gradient with the same seed and offset, it is its own backward.
using DropoutFn = void (*)(const Tensor& in, const Tensor& out, double p, uint64_t seed, uint64_t offset);
// Elementwise activations whose rules are in ops/activation_ops.h (param: LeakyRelu's negative
// slope). in, out: contiguous, same shape, float32 or float64 (the op layer widens 16-bit floats).
enum class ActivationOp : uint8_t { Gelu, GeluTanh, Silu, LeakyRelu };
using ActivationFn = void (*)(ActivationOp op, const Tensor& in, const Tensor& out, double param);
// grad_in = grad_out * op'(x); x, grad_out, grad_in contiguous, same shape and dtype.
using ActivationBackwardFn = void (*)(ActivationOp op, const Tensor& x, const Tensor& grad_out,
                                      const Tensor& grad_in, double param);

// ---- losses and linear (ops/loss.h, ops/linear.h)
enum class LinearActivation : uint8_t { None, Relu };  // linear's fused epilogue
// The pointwise losses l(x, t) of one input element x and its target t (param: huber's delta):
//   Mse: (x - t)^2          L1: |x - t|          Huber: 0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)
//   BceWithLogits: w ((1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0)))  (w, pw: 1 when absent)
//   KlDiv: t (log t - x), 0 where t == 0     KlDivLogTarget: exp(t) (t - x)
enum class LossKind : uint8_t { Mse, L1, Huber, BceWithLogits, KlDiv, KlDivLogTarget };
// input, target: (n,) contiguous, one dtype, float32 or float64 (the op layer widens 16-bit
// floats). weight, pos_weight: (n,) contiguous of that dtype (BceWithLogits only, the op layer
// has expanded them), or undefined. reduce = false: out (n,) gets l per element; reduce = true:
// out (0-d) = scale * sum_i l_i, accumulated in double.
using PointwiseLossFn = void (*)(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                                 const Tensor& pos_weight, double param, bool reduce, double scale,
                                 const Tensor& out);
// Its gradient: grad_input[i] = scale * grad[i or 0] * dl/dx, grad_target[i] = scale * grad[i or 0] * dl/dt.
// grad: (n,) per element, or (1,) one value for every element (the gradient of a reduced loss,
// read on the device: no sync). grad_input / grad_target: (n,) contiguous, or undefined when
// not wanted (BceWithLogits has no target gradient). Huber: dl/dx = clamp(x - t, -delta, delta);
// L1: sign(x - t) (0 at 0).
using PointwiseLossBackwardFn = void (*)(LossKind kind, const Tensor& input, const Tensor& target,
                                         const Tensor& weight, const Tensor& pos_weight, double param,
                                         const Tensor& grad, double scale, const Tensor& grad_input,
                                         const Tensor& grad_target);
// Knowledge distillation over rows: student, teacher (R, C) contiguous, one dtype (float32 or
// float64). With p = softmax(teacher / T), q = softmax(student / T):
// loss[r] = T^2 sum_c p (log p - log q) (a zero p contributes 0). loss: (R,).
using DistillationFn = void (*)(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& loss);
// Its gradient from grad_loss (R,): grad_student = T g (q - p); grad_teacher = T g p (log p - log q - kl)
// with kl = sum_c p (log p - log q). Either output (R, C) may be undefined when not wanted.
using DistillationBackwardFn = void (*)(const Tensor& student, const Tensor& teacher, double temperature,
                                        const Tensor& grad_loss, const Tensor& grad_student,
                                        const Tensor& grad_teacher);
// out = act(x @ w^T + bias). x: (M, K), w: (N, K) (PyTorch's layout), bias: (N,) or undefined,
// out: (M, N); all contiguous, one dtype, float32 or float64 (the op layer widens 16-bit floats).
using LinearFn = void (*)(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act,
                          const Tensor& out);
// Its gradient from grad_out (M, N): with g = grad_out (Relu: grad_out * (out > 0), out being the
// forward's result), grad_x = g @ w (M, K), grad_w = g^T @ x (N, K), grad_bias = sum over rows of g (N,).
// Each output may be undefined when not wanted; out is undefined unless act is Relu.
using LinearBackwardFn = void (*)(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                                  LinearActivation act, const Tensor& grad_x, const Tensor& grad_w,
                                  const Tensor& grad_bias);

// Data augmentation (the op layer is data/augment.cpp). Crop and horizontal flip of an image
// batch: in, out (B, C, H, W) contiguous, one dtype (any: values are moved, never computed);
// params int64 (B, 3) contiguous, [flip, dy, dx] per sample with dy, dx in [0, 2 * pad]. With P
// = in[b, c] zero-padded by pad pixels on every side,
// out[b, c, i, j] = P[i + dy, (flip ? W - 1 - j : j) + dx].
using CropFlipFn = void (*)(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out);
// Mixup of rows: in, out (B, F) contiguous, float32 or float64 (the op layer widens 16-bit
// floats); partner int64 (B,) in [0, B), lam float64 (B,), both contiguous:
// out[b] = lam[b] * in[b] + (1 - lam[b]) * in[partner[b]].
using MixupFn = void (*)(const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out);

// ---- optimizers (csrc/optim runs them; ops/cpu/optim.cpp, ops/cuda/optim.cu)
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
using OptimStepFn = void (*)(OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params);
// grads: contiguous floating tensors (16-bit included) on one device. Multiplies each in place
// by scale (no write when scale == 1) and returns the sum of squares of the values before
// scaling, accumulated in double: inf or NaN when any value is non-finite. Global-norm
// clipping and the loss scaler's unscale-and-check are both this one pass.
using GradScaleFn = double (*)(const std::vector<Tensor>& grads, double scale);

// ---- k-nearest-neighbour search (the op layer is ops/knn.cpp; csrc/knn builds indexes on it)
// Exact search, tiled over queries and base so working memory stays bounded. queries: (nq, d)
// float32; base: (nb, d) float32 or float16 (16-bit rows are widened to float32 per tile on the
// CPU; CUDA runs the GEMM in fp16 with fp32 accumulation); base_norms: (nb,) float32 ||x||^2
// (L2) or undefined (InnerProduct); base_ids: (nb,) int64; allowed: (nb,) bool or undefined;
// out_dist: (nq, k) float32, out_ids: (nq, k) int64. All contiguous, one device; k >= 1, nb >= 0.
// Writes each query's k best rows, sorted best first by the rules in ops/knn.h (squared L2
// ascending clamped at 0, or inner product descending; ties by smaller id; unfilled slots id -1
// and the worst score).
using KnnFlatSearchFn = void (*)(const Tensor& queries, const Tensor& base, const Tensor& base_norms,
                                 const Tensor& base_ids, const Tensor& allowed, KnnMetric metric,
                                 const Tensor& out_dist, const Tensor& out_ids);
// IVF scan: as KnnFlatSearchFn over the rows of the lists each query probes. lists, norms, ids,
// allowed: over the ntotal rows grouped by list; offsets: (nlist + 1,) int64, list l is rows
// [offsets[l], offsets[l + 1]); probes: (nq, nprobe) int64 list numbers, -1 to skip (a list
// probed twice by one query is scanned once).
using KnnIvfSearchFn = void (*)(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                                const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                                const Tensor& out_dist, const Tensor& out_ids);

// The table (defined in ops/kernels.cpp).
extern Kernel<UnaryFn> unary_kernel;
extern Kernel<BinaryFn> binary_kernel;
extern Kernel<WhereFn> where_kernel;
extern Kernel<ClampFn> clamp_kernel;
extern Kernel<CopyFn> copy_kernel;
extern Kernel<FillFn> fill_kernel;
extern Kernel<ReduceFn> reduce_kernel;
extern Kernel<MatmulFn> matmul_kernel;
extern Kernel<GatherFn> gather_kernel;
extern Kernel<ScatterFn> scatter_kernel;
extern Kernel<RandomFn> random_kernel;
extern Kernel<SoftmaxFn> softmax_kernel;
extern Kernel<SoftmaxBackwardFn> softmax_backward_kernel;
extern Kernel<CrossEntropyFn> cross_entropy_kernel;
extern Kernel<CrossEntropyBackwardFn> cross_entropy_backward_kernel;
// convolution and pooling
extern Kernel<Conv2dFn> conv2d_kernel;
extern Kernel<Conv2dBackwardFn> conv2d_backward_kernel;
extern Kernel<MaxPool2dFn> max_pool2d_kernel;
extern Kernel<MaxPool2dBackwardFn> max_pool2d_backward_kernel;
extern Kernel<AvgPool2dFn> avg_pool2d_kernel;
extern Kernel<AvgPool2dBackwardFn> avg_pool2d_backward_kernel;
extern Kernel<LayerNormFn> layer_norm_kernel;
extern Kernel<LayerNormBackwardFn> layer_norm_backward_kernel;
extern Kernel<BatchNormStatsFn> batch_norm_stats_kernel;
extern Kernel<BatchNormApplyFn> batch_norm_apply_kernel;
extern Kernel<BatchNormBackwardFn> batch_norm_backward_kernel;
extern Kernel<DropoutFn> dropout_kernel;
extern Kernel<ActivationFn> activation_kernel;
extern Kernel<ActivationBackwardFn> activation_backward_kernel;
extern Kernel<PointwiseLossFn> pointwise_loss_kernel;
extern Kernel<PointwiseLossBackwardFn> pointwise_loss_backward_kernel;
extern Kernel<DistillationFn> distillation_kernel;
extern Kernel<DistillationBackwardFn> distillation_backward_kernel;
extern Kernel<LinearFn> linear_kernel;
extern Kernel<LinearBackwardFn> linear_backward_kernel;
extern Kernel<CropFlipFn> crop_flip_kernel;
extern Kernel<MixupFn> mixup_kernel;
extern Kernel<OptimStepFn> optim_step_kernel;
extern Kernel<GradScaleFn> grad_scale_kernel;
extern Kernel<KnnFlatSearchFn> knn_flat_search_kernel;
extern Kernel<KnnIvfSearchFn> knn_ivf_search_kernel;

namespace cpu {
void unary(UnaryOp op, const Tensor& in, const Tensor& out);
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void clamp(const Tensor& in, Scalar lo, Scalar hi, const Tensor& out);
void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& out, Scalar value);
void reduce(ReduceOp op, const Tensor& in, const Tensor& out, int64_t ddof);
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);
void gather(const Tensor& src, const Tensor& offsets, const Tensor& out);
void scatter(const Tensor& dst, const Tensor& offsets, const Tensor& values, bool accumulate);
void random(RandomKind kind, const Tensor& out, double a, double b, uint64_t seed, uint64_t offset);
void softmax(const Tensor& in, const Tensor& out, bool log);
void softmax_backward(const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, bool log);
void cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, double label_smoothing,
                   int64_t ignore_index, const Tensor& loss, const Tensor& sample_weight, const Tensor& log_probs);
void cross_entropy_backward(const Tensor& log_probs, const Tensor& target, const Tensor& weight,
                            double label_smoothing, int64_t ignore_index, const Tensor& grad_loss,
                            const Tensor& grad_logits);
// convolution and pooling
void conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p, const Tensor& out);
void conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                     const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias);
void max_pool2d(const Tensor& x, const Pool2dParams& p, const Tensor& out, const Tensor& indices);
void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p, const Tensor& grad_x);
void avg_pool2d(const Tensor& x, const Pool2dParams& p, const Tensor& out);
void avg_pool2d_backward(const Tensor& grad_out, const Pool2dParams& p, const Tensor& grad_x);
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias);
void batch_norm_stats(const Tensor& x, const Tensor& mean, const Tensor& var);
void batch_norm_apply(const Tensor& x, const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                      const Tensor& bias, const Tensor& y);
void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& invstd,
                         const Tensor& weight, bool training, const Tensor& grad_x, const Tensor& grad_weight,
                         const Tensor& grad_bias);
void dropout(const Tensor& in, const Tensor& out, double p, uint64_t seed, uint64_t offset);
void activation(ActivationOp op, const Tensor& in, const Tensor& out, double param);
void activation_backward(ActivationOp op, const Tensor& x, const Tensor& grad_out, const Tensor& grad_in,
                         double param);
void pointwise_loss(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                    const Tensor& pos_weight, double param, bool reduce, double scale, const Tensor& out);
void pointwise_loss_backward(LossKind kind, const Tensor& input, const Tensor& target, const Tensor& weight,
                             const Tensor& pos_weight, double param, const Tensor& grad, double scale,
                             const Tensor& grad_input, const Tensor& grad_target);
void distillation(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& loss);
void distillation_backward(const Tensor& student, const Tensor& teacher, double temperature, const Tensor& grad_loss,
                           const Tensor& grad_student, const Tensor& grad_teacher);
void linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act, const Tensor& out);
void linear_backward(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                     LinearActivation act, const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias);
void crop_flip(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out);
void mixup(const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out);
void optim_step(OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params);
double grad_scale(const std::vector<Tensor>& grads, double scale);
void knn_flat_search(const Tensor& queries, const Tensor& base, const Tensor& base_norms, const Tensor& base_ids,
                     const Tensor& allowed, KnnMetric metric, const Tensor& out_dist, const Tensor& out_ids);
void knn_ivf_search(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                    const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                    const Tensor& out_dist, const Tensor& out_ids);
}  // namespace cpu

}  // namespace aimass
