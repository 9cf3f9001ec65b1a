#include "ops/dropout.h"

#include "core/error.h"
#include "core/philox.h"
#include "ops/convert.h"
#include "ops/kernels/random.h"

namespace aimass {

namespace {

Tensor apply_mask(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  Tensor in = contiguous(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel()) dropout_kernel.on(x.device())(in, out, p, seed, offset);
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, uint64_t* seed, uint64_t* offset) {
  AM_CHECK(is_floating(x.dtype()), TypeError, "dropout: needs a floating input, got ", x.describe());
  AM_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout: probability p must be in [0, 1], got ", p);
  // One Philox counter gives the four words of four elements (ops/kernels/random.h).
  GeneratorState g = reserve_random(uint64_t(x.numel() + 3) / 4);
  if (seed) *seed = g.seed;
  if (offset) *offset = g.offset;
  return apply_mask(x, p, g.seed, g.offset);
}

Tensor dropout_backward(const Tensor& grad, double p, uint64_t seed, uint64_t offset) {
  return apply_mask(grad, p, seed, offset);
}

}  // namespace aimass
