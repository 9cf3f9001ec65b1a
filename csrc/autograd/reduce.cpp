#include "autograd/reduce.h"

#include <algorithm>

#include "autograd/function_util.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace aimass::autograd {

namespace {

// Reduced axes of an input of rank `ndim` (all when none given), sorted.
std::vector<int64_t> reduced_axes(const std::optional<std::vector<int64_t>>& axes, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (!axes) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
  } else {
    for (int64_t a : *axes) out.push_back(normalize_axis(a, ndim, op));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// g from a reduction without keepdims, with the reduced axes put back as size 1.
Tensor keep_dims(const Tensor& g, const std::vector<int64_t>& axes, bool keepdims) {
  if (keepdims) return g;
  Tensor out = g;
  for (int64_t a : axes) out = raw::unsqueeze(out, a);
  return out;
}

struct ReduceBackward final : Node {
  ReduceOp op;
  SavedTensor x, result;
  std::vector<int64_t> axes;
  bool keepdims = false;
  int64_t ddof = 0;
  std::string name() const override { return std::string(reduce_name(op)) + "_backward"; }
  void release_saved() override { x.release(); result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor()};
    const char* n = reduce_name(op);
    const Tensor& in = x.get(n);
    int64_t count = 1;
    for (int64_t a : axes) count *= in.shape()[a];
    Tensor gk = raw::expand(keep_dims(g, axes, keepdims), in.shape());
    using B = BinaryOp;
    Tensor out;
    switch (op) {
      case ReduceOp::Sum: out = raw::contiguous(gk); break;
      case ReduceOp::Mean: out = raw::binary(B::Div, gk, num(double(count))); break;
      case ReduceOp::Max:
      case ReduceOp::Min: {
        // Every element equal to the extreme shares its gradient (PyTorch's amax/amin rule).
        Tensor hit = raw::to_dtype(raw::binary(B::Eq, in, keep_dims(result.get(n), axes, keepdims)), g.dtype());
        Tensor hits = raw::reduce(ReduceOp::Sum, hit, axes, true);
        out = raw::binary(B::Div, raw::binary(B::Mul, gk, hit), hits);
        break;
      }
      case ReduceOp::Prod: {
        Tensor r = keep_dims(result.get(n), axes, keepdims);
        out = raw::binary(B::Div, raw::binary(B::Mul, gk, r), in);
        break;
      }
      case ReduceOp::Var: {
        Tensor mean = raw::reduce(ReduceOp::Mean, in, axes, true);
        Tensor centred = raw::binary(B::Sub, in, mean);
        out = raw::binary(B::Mul, gk, raw::binary(B::Mul, centred, num(2.0 / double(std::max<int64_t>(count - ddof, 1)))));
        break;
      }
      default: break;
    }
    return {raw::to_dtype(out, in.dtype())};
  }
};

}  // namespace

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  int64_t lead = grad.dim() - int64_t(shape.size());
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) axes.push_back(d);
  Tensor summed = axes.empty() ? grad : raw::reduce(ReduceOp::Sum, grad, axes, true);
  return raw::reshape(summed, shape);
}

Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims, int64_t ddof) {
  Tensor out = raw::reduce(op, x, axes, keepdims, ddof);
  if (!any_requires_grad({&x}) || !is_floating(out.dtype())) return out;
  auto node = make_node<ReduceBackward>({&x});
  node->op = op;
  node->x = SavedTensor(x);
  if (op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::Prod) node->result = SavedTensor(out);
  node->axes = reduced_axes(axes, x.dim(), reduce_name(op));
  node->keepdims = keepdims;
  node->ddof = ddof;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
