#include "autograd/convert.h"

#include "autograd/function_util.h"
#include "ops/convert.h"

namespace aimass::autograd {

namespace {

struct ConvertBackward final : Node {
  DType dtype;
  Device device;
  std::string name() const override { return "to_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::to_device(raw::to_dtype(grads[0], dtype), device)};
  }
};

}  // namespace

Tensor to_dtype(const Tensor& x, DType dtype, bool copy) {
  Tensor out = raw::to_dtype(x, dtype, copy);
  if (out.is_same(x) || !any_requires_grad({&x}) || !is_floating(dtype)) return out;
  auto node = make_node<ConvertBackward>({&x});
  node->dtype = x.dtype();
  node->device = x.device();
  set_history({out}, node);
  return out;
}

Tensor to_device(const Tensor& x, Device device, bool copy) {
  Tensor out = raw::to_device(x, device, copy);
  if (out.is_same(x) || !any_requires_grad({&x})) return out;
  auto node = make_node<ConvertBackward>({&x});
  node->dtype = x.dtype();
  node->device = x.device();
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
