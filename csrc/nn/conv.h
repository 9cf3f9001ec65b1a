// Convolution layers, NCHW. Conv2D: x (N, C, H, W) -> (N, filters, OH, OW) with weight
// (filters, C/groups, KH, KW) and bias (filters,). Conv1D: x (N, C, L) -> (N, filters, OL) with
// weight (filters, C/groups, K), computed as a Conv2D over a height of 1.
#pragma once
#include <array>
#include <string>
#include <variant>
#include <vector>

#include "nn/activation.h"
#include "nn/init.h"
#include "nn/layer_args.h"
#include "nn/module.h"

namespace aimass::nn {

enum class PaddingMode : uint8_t { Explicit, Valid, Same };

// What padding= says: "same" (output size ceil(input / stride)), "valid" (none), or explicit
// symmetric sizes (PH, PW).
struct PaddingSpec {
  PaddingMode mode = PaddingMode::Valid;
  std::array<int64_t, 2> size{0, 0};  // Explicit only
};
// padding= as given: a name, an int (both axes) or a pair of ints.
using PaddingArg = std::variant<std::string, int64_t, std::vector<int64_t>>;
// "same", "valid", an int or a pair; ValueError naming `layer` for another name, and for a
// sequence that is not a pair.
PaddingSpec parse_padding(const PaddingArg& padding, const std::string& layer);

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

  void set_padding(const PaddingSpec& p) {
    padding_mode = p.mode;
    padding = p.size;
  }
};

// Conv1D's arguments: one value per axis where Conv2D has a pair.
struct Conv1DOptions {
  int64_t filters = 0;
  int64_t in_channels = 0;  // 0: taken from the first input
  int64_t kernel = 1;
  int64_t stride = 1;
  int64_t dilation = 1;
  PaddingMode padding_mode = PaddingMode::Valid;
  int64_t padding = 0;  // Explicit: symmetric
  int64_t groups = 1;
  bool use_bias = true;
  Activation activation = Activation::None;
  Init kernel_init = Init::GlorotUniform;
  Init bias_init = Init::Zeros;

  // Explicit padding P is taken from the spec's second (W) size, the axis a 1-D input has.
  void set_padding(const PaddingSpec& p) {
    padding_mode = p.mode;
    padding = p.size[1];
  }
};
// A 1-D convolution is a 2-D one over a height of 1: kernel (1, K), stride (1, S), dilation
// (1, D), padding (0, P).
ConvOptions conv1d_as_conv2d(const Conv1DOptions& o);

class Conv2D : public Module {
 public:
  explicit Conv2D(const ConvOptions& options, std::string type_name = "Conv2D");
  void build(const Tensor& x) override;
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
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
  explicit Conv1D(const Conv1DOptions& options);
  // Conv2D-shaped options: the second entry of each pair is used, the first is set to 1 (0 for padding).
  explicit Conv1D(const ConvOptions& options);
  Tensor forward(const Tensor& x) override;  // x: (N, C, L)

 protected:
  Shape weight_shape(int64_t in_channels) const override;
};

}  // namespace aimass::nn
