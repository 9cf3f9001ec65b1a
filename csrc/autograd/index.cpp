#include "autograd/index.h"

#include "autograd/function_util.h"
#include "ops/index.h"

namespace aimass::autograd {

namespace {

struct IndexBackward final : Node {
  Shape input_shape;
  DType dtype;
  Device device;
  std::vector<TensorIndex> idx;
  std::string name() const override { return "index_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    Tensor out = full(input_shape, Scalar::from_int(0), dtype, device);
    index_put(out, idx, grads[0], /*accumulate=*/true);  // an element picked twice gets both gradients
    return {out};
  }
};

}  // namespace

Tensor index(const Tensor& x, const std::vector<TensorIndex>& idx) {
  Tensor out = raw::index(x, idx);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<IndexBackward>({&x});
  node->input_shape = x.shape();
  node->dtype = x.dtype();
  node->device = x.device();
  node->idx = idx;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
