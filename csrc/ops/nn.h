// Neural-network ops built on their own kernels (ops/kernels.h), beyond the tensor basics.
#pragma once
#include <string>

#include "core/tensor.h"

namespace aimass {

// Softmax (log: log_softmax) along `axis` of a floating tensor. 16-bit floats compute in
// float32 and return their own dtype.
Tensor softmax(const Tensor& x, int64_t axis, bool log);
// The gradient of softmax given its result y (same dtype) and grad_out, along the same axis.
Tensor softmax_backward(const Tensor& y, const Tensor& grad_out, int64_t axis, bool log);

enum class Reduction : uint8_t { None, Mean, Sum, BatchMean };  // BatchMean: kl_div's sum / batch size
// "none" / "mean" / "sum" (and "batchmean" where allowed); ValueError naming `op` otherwise.
Reduction parse_reduction(const std::string& name, const char* op, bool allow_batchmean = false);

// What the gradient of cross_entropy needs, in the compute dtype (float32 or float64).
struct CrossEntropySaved {
  Tensor log_probs;    // (N, C)
  Tensor target;       // int64 (N,) class indices, or (N, C) probabilities
  Tensor weight;       // (C,), or undefined
  Tensor denominator;  // 0-d: the mean's divisor (Reduction::Mean only)
  Shape logits_shape;
  DType logits_dtype = DType::Float32;
  double label_smoothing = 0;
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::Mean;
};

// Cross-entropy between logits (N, C) or (C,) and a target of class indices (an integer tensor
// (N,) or 0-d) or of class probabilities (a floating tensor of logits' shape), as PyTorch's
// F.cross_entropy: optional class weight (C,) (undefined: all ones), ignore_index (class
// indices only), label_smoothing in [0, 1]. Mean divides by the summed weight of the
// non-ignored targets (probabilities: by N). 16-bit floats compute in float32 and return their
// own dtype. Fills *saved for the backward when given.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing, CrossEntropySaved* saved = nullptr);
// The gradient with respect to the logits, given the gradient of cross_entropy's result.
Tensor cross_entropy_backward(const Tensor& grad, const CrossEntropySaved& saved);

}  // namespace aimass
