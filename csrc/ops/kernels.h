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
extern Kernel<OptimStepFn> optim_step_kernel;
extern Kernel<GradScaleFn> grad_scale_kernel;

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
void optim_step(OptimAlgo algo, const OptimHyper& hp, const std::vector<OptimParam>& params);
double grad_scale(const std::vector<Tensor>& grads, double scale);
}  // namespace cpu

}  // namespace aimass
