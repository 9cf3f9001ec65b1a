#include "autograd/fake_quant.h"

#include "autograd/function_util.h"
#include "ops/fake_quant.h"

namespace aimass::autograd {

namespace {

struct FakeQuantPerTensorBackward final : Node {
  float scale = 1.0f;
  int32_t zero = 0;
  SavedTensor x;
  std::string name() const override { return "fake_quant_per_tensor_u8_backward"; }
  void release_saved() override { x.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::fake_quant_per_tensor_u8_backward(x.get("fake_quant_per_tensor_u8"), grads[0], scale, zero)};
  }
};

struct FakeQuantPerChannelBackward final : Node {
  SavedTensor w;
  Tensor scales;  // (N,), no history
  std::string name() const override { return "fake_quant_per_channel_s8_backward"; }
  void release_saved() override { w.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::fake_quant_per_channel_s8_backward(w.get("fake_quant_per_channel_s8"), grads[0], scales)};
  }
};

}  // namespace

Tensor fake_quant_per_tensor_u8(const Tensor& x, float scale, int32_t zero) {
  Tensor out = raw::fake_quant_per_tensor_u8(x, scale, zero);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<FakeQuantPerTensorBackward>({&x});
  node->scale = scale;
  node->zero = zero;
  node->x = SavedTensor(x);
  set_history({out}, node);
  return out;
}

Tensor fake_quant_per_channel_s8(const Tensor& w, const Tensor& scales) {
  Tensor out = raw::fake_quant_per_channel_s8(w, scales);
  if (!any_requires_grad({&w})) return out;
  auto node = make_node<FakeQuantPerChannelBackward>({&w});
  node->w = SavedTensor(w);
  node->scales = raw::contiguous(raw::to_dtype(scales, DType::Float32, true));
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
