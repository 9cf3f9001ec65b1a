#include "autograd/shape.h"

#include "autograd/function_util.h"
#include "ops/convert.h"
#include "ops/index.h"
#include "ops/shape.h"

namespace aimass::autograd {

namespace {

// reshape, view, squeeze, unsqueeze, contiguous, clone: the gradient is reshaped back.
struct ReshapeBackward final : Node {
  Shape input_shape;
  std::string name() const override { return "reshape_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? raw::reshape(grads[0], input_shape) : Tensor()};
  }
};

struct PermuteBackward final : Node {
  std::vector<int64_t> inverse;
  std::string name() const override { return "permute_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? raw::permute(grads[0], inverse) : Tensor()};
  }
};

struct ExpandBackward final : Node {
  Shape input_shape;
  std::string name() const override { return "expand_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? sum_to(grads[0], input_shape) : Tensor()};
  }
};

struct ConcatBackward final : Node {
  int64_t axis;
  std::vector<int64_t> sizes;
  bool stacked = false;
  std::string name() const override { return stacked ? "stack_backward" : "concatenate_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    std::vector<Tensor> out(sizes.size());
    if (!g.defined()) return out;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (next[i].valid()) {
        std::vector<TensorIndex> part(axis + 1, TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt));
        part[axis] = TensorIndex::slice(start, start + sizes[i], std::nullopt);
        out[i] = raw::index(g, part);
        if (stacked) out[i] = raw::squeeze(out[i], axis);
      }
      start += sizes[i];
    }
    return out;
  }
};

}  // namespace

namespace {
Tensor with_reshape_history(const Tensor& x, Tensor out) {
  if (!any_requires_grad({&x})) return out;
  if (out.is_same(x)) out = x.as_strided(x.shape(), x.strides(), x.offset());  // a new handle to carry history
  auto node = make_node<ReshapeBackward>({&x});
  node->input_shape = x.shape();
  set_history({out}, node);
  return out;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) { return with_reshape_history(x, raw::reshape(x, shape)); }
Tensor view(const Tensor& x, const Shape& shape) { return with_reshape_history(x, raw::view(x, shape)); }
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis) {
  return with_reshape_history(x, axis ? raw::squeeze(x, *axis) : raw::squeeze(x));
}
Tensor unsqueeze(const Tensor& x, int64_t axis) { return with_reshape_history(x, raw::unsqueeze(x, axis)); }
Tensor contiguous(const Tensor& x) { return with_reshape_history(x, raw::contiguous(x)); }
Tensor clone(const Tensor& x) { return with_reshape_history(x, raw::clone(x)); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& axes) {
  Tensor out = raw::permute(x, axes);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<PermuteBackward>({&x});
  node->inverse.assign(axes.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i) node->inverse[normalize_axis(axes[i], x.dim(), "permute")] = int64_t(i);
  set_history({out}, node);
  return out;
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  if (x.dim() == 0) return x;
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = i;
  std::swap(axes[normalize_axis(axis0, x.dim(), "transpose")], axes[normalize_axis(axis1, x.dim(), "transpose")]);
  return autograd::permute(x, axes);
}

Tensor matrix_transpose(const Tensor& x) {
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = x.dim() - 1 - i;
  return autograd::permute(x, axes);
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  return with_reshape_history(x, raw::flatten(x, start_axis, end_axis));
}

Tensor expand(const Tensor& x, const Shape& shape, const char* op) {
  Tensor out = raw::expand(x, shape, op);
  if (!any_requires_grad({&x})) return out;
  if (out.is_same(x)) out = x.as_strided(x.shape(), x.strides(), x.offset());
  auto node = make_node<ExpandBackward>({&x});
  node->input_shape = x.shape();
  set_history({out}, node);
  return out;
}

namespace {
Tensor concat_impl(const std::vector<Tensor>& xs, int64_t axis, bool stacked) {
  Tensor out = stacked ? raw::stack(xs, axis) : raw::concatenate(xs, axis);
  bool any = false;
  for (const Tensor& x : xs) any |= any_requires_grad({&x});
  if (!any) return out;
  auto node = std::make_shared<ConcatBackward>();
  node->stacked = stacked;
  node->axis = normalize_axis(axis, out.dim(), stacked ? "stack" : "concatenate");
  for (const Tensor& x : xs) {
    node->next.push_back(gradient_edge(x));
    node->sizes.push_back(stacked ? 1 : x.shape()[node->axis]);
  }
  set_history({out}, node);
  return out;
}
}  // namespace

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) { return concat_impl(xs, axis, false); }
Tensor stack(const std::vector<Tensor>& xs, int64_t axis) { return concat_impl(xs, axis, true); }

}  // namespace aimass::autograd
