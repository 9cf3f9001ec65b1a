// Activations: the kinds a layer may fuse (Dense(64, activation="relu")) and the activation
// layers (ReLU(), GELU(), ...), all computed by the differentiable ops of autograd/functions.h.
#pragma once
#include <optional>
#include <string>

#include "nn/module.h"

namespace aimass::nn {

enum class Activation : uint8_t { None, Relu, LeakyRelu, Gelu, GeluTanh, Silu, Sigmoid, Tanh, Softmax, LogSoftmax };

// None / "linear" / "relu" / "leaky_relu" / "gelu" / "gelu_tanh" / "silu" (also "swish") /
// "sigmoid" / "tanh" / "softmax" / "log_softmax"; ValueError naming `layer` otherwise.
Activation parse_activation(const std::string& name, const std::string& layer);
// activation=None (nullopt) is no activation; a name is parsed as above.
Activation parse_activation(const std::optional<std::string>& name, const std::string& layer);
const char* activation_name(Activation act);  // "linear" for None
// activation= in a layer's config: None for None, the name otherwise.
ConfigValue activation_config(Activation act);
// act(x); softmax kinds over the last axis; negative_slope for LeakyRelu.
Tensor apply_activation(Activation act, const Tensor& x, double negative_slope = 0.01);

// A layer applying one activation: ReLU(), LeakyReLU(0.2), GELU("tanh"), Softmax(axis)...
class ActivationLayer : public Module {
 public:
  ActivationLayer(std::string type_name, Activation act, double negative_slope = 0.01, int64_t axis = -1)
      : Module(std::move(type_name)), act_(act), negative_slope_(negative_slope), axis_(axis) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  Activation activation() const { return act_; }
  double negative_slope() const { return negative_slope_; }
  int64_t axis() const { return axis_; }

 private:
  Activation act_;
  double negative_slope_;
  int64_t axis_;  // Softmax / LogSoftmax
};

}  // namespace aimass::nn
