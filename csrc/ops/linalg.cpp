#include "ops/linalg.h"

#include <algorithm>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels/linalg.h"
#include "ops/shape.h"

namespace aimass {

namespace {

// x expanded to (batch..., rows, cols) presented as (B, rows, cols) with one batch stride,
// each matrix with a unit stride in one of its two dims (what BLAS can read in place).
Tensor as_batched_matrices(const Tensor& x, const Shape& batch, int64_t B) {
  Shape full = batch;
  full.push_back(x.shape()[x.dim() - 2]);
  full.push_back(x.shape()[x.dim() - 1]);
  Tensor e = expand(x, full, "matmul");
  int64_t nd = e.dim(), rows = full[nd - 2], cols = full[nd - 1];
  int64_t rs = e.strides()[nd - 2], cs = e.strides()[nd - 1];
  bool blas_readable = (cs == 1 && rs >= std::max<int64_t>(cols, 1)) || (rs == 1 && cs >= std::max<int64_t>(rows, 1));
  // One batch stride must cover every batch dim: all broadcast (0), or nested evenly, the
  // innermost non-trivial batch dim giving the stride.
  int64_t batch_stride = 0, expect = -1;
  bool single_stride = true;
  for (int64_t d = nd - 3; d >= 0; --d) {
    if (full[d] == 1) continue;
    if (expect < 0) batch_stride = e.strides()[d];
    else single_stride &= e.strides()[d] == expect;
    expect = e.strides()[d] * full[d];
  }
  if (!blas_readable || !single_stride) {
    e = contiguous(e);
    batch_stride = rows * cols;
    rs = cols;
    cs = 1;
  }
  return e.as_strided({B, rows, cols}, {batch_stride, rs, cs}, e.offset());
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  AM_CHECK(a_in.dim() > 0 && b_in.dim() > 0, ValueError, "matmul: operands must have at least one dim, got ",
           a_in.describe(), " and ", b_in.describe(), "; use * for scalars");
  AM_CHECK(a_in.device() == b_in.device(), RuntimeError, "matmul: operands are on different devices: ",
           a_in.describe(), " and ", b_in.describe());
  DType dtype = promote_types(a_in.dtype(), b_in.dtype());
  AM_CHECK(dtype != DType::Bool, TypeError, "matmul: not supported for bool tensors (", a_in.describe(), ", ",
           b_in.describe(), ")");
  bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Tensor a = a_vec ? unsqueeze(a_in, 0) : a_in;   // (K,) -> (1, K)
  Tensor b = b_vec ? unsqueeze(b_in, 1) : b_in;   // (K,) -> (K, 1)
  int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  int64_t K2 = b.shape()[b.dim() - 2], N = b.shape()[b.dim() - 1];
  AM_CHECK(K == K2, ValueError, "matmul: inner dimensions do not match: ", a_in.describe(), " @ ",
           b_in.describe(), " (", K, " != ", K2, ")");
  Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  int64_t B = shape_numel(batch);

  Shape out_shape = batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, dtype, a.device());
  if (out.numel() == 0) return out;
  if (K == 0) {
    fill_(out, Scalar::from_int(0));
    return out;
  }
  Tensor a3 = as_batched_matrices(to_dtype(a, dtype), batch, B);
  Tensor b3 = as_batched_matrices(to_dtype(b, dtype), batch, B);
  Tensor out3 = out.as_strided({B, M, N}, {M * N, N, 1}, out.offset());
  matmul_kernel.on(a.device())(a3, b3, out3);
  return out;
}

}  // namespace aimass
