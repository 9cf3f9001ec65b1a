#include "ops/reduce.h"

#include <algorithm>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/shape.h"

namespace aimass {

const char* reduce_name(ReduceOp op) {
  static constexpr const char* names[] = {"sum", "mean", "max", "min", "prod", "argmax", "argmin", "var", "any", "all"};
  return names[int(op)];
}

namespace {

DType reduce_result_type(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Prod: return sum_result_type(in);
    case ReduceOp::Mean: case ReduceOp::Var: return is_floating(in) ? in : DType::Float32;
    case ReduceOp::ArgMax: case ReduceOp::ArgMin: return DType::Int64;
    case ReduceOp::Any: case ReduceOp::All: return DType::Bool;
    default: return in;
  }
}

}  // namespace

Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims,
              int64_t ddof) {
  const char* name = reduce_name(op);
  bool arg = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin;
  if (arg && !axes) {
    // NumPy: the index into the flattened tensor.
    Tensor flat = reshape(x, {-1});
    Tensor r = reduce(op, flat, std::vector<int64_t>{0}, false);
    return keepdims ? reshape(r, Shape(x.dim(), 1)) : r;
  }
  AM_CHECK(x.dtype() != DType::Bool || op != ReduceOp::Var, TypeError, name, ": not supported for bool tensors (",
           x.describe(), ")");
  AM_CHECK(op != ReduceOp::Var || ddof >= 0, ValueError, "var: ddof must be non-negative, got ", ddof);

  int64_t nd = x.dim();
  std::vector<bool> reduced(std::max<int64_t>(nd, 1), !axes);
  if (axes) {
    AM_CHECK(!arg || axes->size() == 1, ValueError, name, ": takes a single axis, got ", axes->size());
    for (int64_t a : *axes) {
      int64_t n = normalize_axis(a, nd, name);
      AM_CHECK(!reduced[n], ValueError, name, ": axis ", a, " given twice");
      reduced[n] = true;
    }
  }
  Shape out_shape, kept_shape;
  int64_t R = 1;
  for (int64_t d = 0; d < nd; ++d) {
    if (reduced[d]) {
      R *= x.shape()[d];
      if (keepdims) out_shape.push_back(1);
    } else {
      out_shape.push_back(x.shape()[d]);
      kept_shape.push_back(x.shape()[d]);
    }
  }
  if (R == 0) {
    AM_CHECK(op != ReduceOp::Max && op != ReduceOp::Min && !arg, ValueError, name,
             ": zero-size reduction over ", x.describe(), " has no identity");
  }
  DType out_dtype = reduce_result_type(op, x.dtype());
  Tensor out = Tensor::empty(out_shape, out_dtype, x.device());
  if (out.numel() == 0) return out;

  // Present the input to the kernel as (O, R, I) contiguous: free when x is contiguous and
  // the reduced axes are adjacent; otherwise permute the reduced axes last and copy.
  int64_t first = -1, last = -1;
  for (int64_t d = 0; d < nd; ++d)
    if (reduced[d] && x.shape()[d] != 1) {
      if (first < 0) first = d;
      last = d;
    }
  bool adjacent = true;
  for (int64_t d = first; first >= 0 && d <= last; ++d) adjacent &= reduced[d] || x.shape()[d] == 1;
  int64_t O = 1, I = 1;
  Tensor in;
  if (x.is_contiguous() && adjacent) {
    for (int64_t d = 0; d < nd; ++d) {
      if (first >= 0 && d < first) O *= x.shape()[d];
      if (first >= 0 && d > last) I *= x.shape()[d];
    }
    if (first < 0) O = out.numel();  // only size-1 axes reduced
    in = x;
  } else {
    std::vector<int64_t> order;
    for (int64_t d = 0; d < nd; ++d) if (!reduced[d]) order.push_back(d);
    for (int64_t d = 0; d < nd; ++d) if (reduced[d]) order.push_back(d);
    in = contiguous(permute(x, order));
    O = shape_numel(kept_shape);
  }
  in = in.as_strided({O, R, I}, {R * I, I, 1}, in.offset());
  Tensor out3 = out.as_strided({O, I}, {I, 1}, out.offset());
  reduce_kernel.on(x.device())(op, in, out3, ddof);
  return out;
}

}  // namespace aimass
