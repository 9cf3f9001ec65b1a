// Normalisation layers.
// BatchNorm1D: x (N, C) or (N, C, L); BatchNorm2D: x (N, C, H, W). Statistics per channel C;
// weight, bias, running_mean, running_var: (C,). Training normalises with the batch statistics
// and updates the running ones (running = (1 - momentum) running + momentum batch, PyTorch's
// convention); eval uses the running statistics.
// LayerNorm: normalises over the trailing normalized_shape; weight, bias: normalized_shape.
#pragma once
#include "nn/module.h"

namespace aimass::nn {

struct BatchNormOptions {
  int64_t num_features = 0;  // 0: taken from the first input
  double momentum = 0.1;
  double eps = 1e-5;
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNorm : public Module {
 public:
  BatchNorm(std::string type_name, const BatchNormOptions& options);
  void build(const Tensor& x) override;
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const BatchNormOptions& options() const { return options_; }

 private:
  void check_input(const Tensor& x) const;
  void create_state(int64_t channels, DType dtype, Device device);
  BatchNormOptions options_;
};

class BatchNorm1D : public BatchNorm {
 public:
  explicit BatchNorm1D(const BatchNormOptions& options) : BatchNorm("BatchNorm1D", options) {}
};

class BatchNorm2D : public BatchNorm {
 public:
  explicit BatchNorm2D(const BatchNormOptions& options) : BatchNorm("BatchNorm2D", options) {}
};

struct LayerNormOptions {
  Shape normalized_shape;  // empty: the input's last dim
  double eps = 1e-5;
  bool elementwise_affine = true;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  void build(const Tensor& x) override;
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const LayerNormOptions& options() const { return options_; }

 private:
  void create_weights(DType dtype, Device device);
  LayerNormOptions options_;
};

}  // namespace aimass::nn
