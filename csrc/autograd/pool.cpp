#include "autograd/pool.h"

#include "autograd/function_util.h"
#include "ops/pool.h"

namespace aimass::autograd {

namespace {

struct MaxPool2dBackward final : Node {
  SavedTensor indices;
  Pool2dParams params;
  Shape x_shape;
  DType x_dtype;
  std::string name() const override { return "max_pool2d_backward"; }
  void release_saved() override { indices.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::max_pool2d_backward(grads[0], indices.get("max_pool2d_backward"), params, x_shape, x_dtype)};
  }
};

struct AvgPool2dBackward final : Node {
  Pool2dParams params;
  Shape x_shape;
  DType x_dtype;
  std::string name() const override { return "avg_pool2d_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::avg_pool2d_backward(grads[0], params, x_shape, x_dtype)};
  }
};

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  if (!any_requires_grad({&x})) return raw::max_pool2d(x, p);
  Tensor indices;
  Tensor out = raw::max_pool2d(x, p, &indices);
  auto node = make_node<MaxPool2dBackward>({&x});
  node->indices = SavedTensor(indices);
  node->params = p;
  node->x_shape = x.shape();
  node->x_dtype = x.dtype();
  set_history({out}, node);
  return out;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  Tensor out = raw::avg_pool2d(x, p);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<AvgPool2dBackward>({&x});
  node->params = p;
  node->x_shape = x.shape();
  node->x_dtype = x.dtype();
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
