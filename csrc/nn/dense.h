// Dense (fully connected): y = act(x @ weight^T + bias).
// x: (..., in) -> (..., units); weight: (units, in) (PyTorch's layout), bias: (units,).
#pragma once
#include "nn/activation.h"
#include "nn/init.h"
#include "nn/module.h"

namespace aimass::nn {

struct DenseOptions {
  int64_t units = 0;
  int64_t in_features = 0;  // 0: taken from the first input
  Activation activation = Activation::None;
  bool use_bias = true;
  Init kernel_init = Init::GlorotUniform;
  Init bias_init = Init::Zeros;
};

class Dense : public Module {
 public:
  explicit Dense(const DenseOptions& options);
  void build(const Tensor& x) override;
  Tensor forward(const Tensor& x) override;
  // x @ weight^T + bias without the activation: the logits of a Dense(..., activation="softmax")
  // (Keras's from_logits fusion, nn/logits.h). x: (..., in) -> (..., units).
  Tensor pre_activation(const Tensor& x);
  std::string describe() const override;
  Config config() const override;
  const DenseOptions& options() const { return options_; }

 private:
  void create_weights(int64_t in_features, DType dtype, Device device);
  DenseOptions options_;
};

}  // namespace aimass::nn
