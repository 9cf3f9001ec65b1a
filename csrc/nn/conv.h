// Convolution layers, NCHW. Conv2D: x (N, C, H, W) -> (N, filters, OH, OW) with weight
// (filters, C/groups, KH, KW) and bias (filters,). Conv1D: x (N, C, L) -> (N, filters, OL) with
// weight (filters, C/groups, K), computed as a Conv2D over a height of 1.
#pragma once
#include <array>

#include "nn/activation.h"
#include "nn/init.h"
#include "nn/module.h"

namespace aimass::nn {

enum class PaddingMode : uint8_t { Explicit, Valid, Same };

struct ConvOptions {
  int64_t filters = 0;
  int64_t in_channels = 0;             // 0: taken from the first input
  std::array<int64_t, 2> kernel{1, 1};  // (KH, KW); Conv1D uses kernel[1]
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> dilation{1, 1};
  PaddingMode padding_mode = PaddingMode::Valid;
  std::array<int64_t, 2> padding{0, 0};  // Explicit: symmetric (PH, PW)
  int64_t groups = 1;
  bool use_bias = true;
  Activation activation = Activation::None;
  Init kernel_init = Init::GlorotUniform;
  Init bias_init = Init::Zeros;
};

class Conv2D : public Module {
 public:
  explicit Conv2D(const ConvOptions& options, std::string type_name = "Conv2D");
  void build(const Tensor& x) override;
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  const ConvOptions& options() const { return options_; }

 protected:
  // x: (N, C, H, W) -> (N, filters, OH, OW), with this layer's checks and padding.
  Tensor convolve(const Tensor& x, const Tensor& weight);
  virtual Shape weight_shape(int64_t in_channels) const;
  // Called by the constructors when in_channels is given (weight_shape is virtual: Conv1D
  // creates its own after its base is constructed), else by build().
  void create_weights(int64_t in_channels, DType dtype, Device device);
  int64_t spatial_dims() const { return type_name() == "Conv1D" ? 1 : 2; }
  ConvOptions options_;
};

class Conv1D : public Conv2D {
 public:
  explicit Conv1D(const ConvOptions& options);
  Tensor forward(const Tensor& x) override;  // x: (N, C, L)

 protected:
  Shape weight_shape(int64_t in_channels) const override;
};

}  // namespace aimass::nn
