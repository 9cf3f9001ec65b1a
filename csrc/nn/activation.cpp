#include "nn/activation.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

Activation parse_activation(const std::string& name, const std::string& layer) {
  if (name.empty() || name == "linear" || name == "none") return Activation::None;
  if (name == "relu") return Activation::Relu;
  if (name == "leaky_relu") return Activation::LeakyRelu;
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  if (name == "silu" || name == "swish") return Activation::Silu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "softmax") return Activation::Softmax;
  if (name == "log_softmax") return Activation::LogSoftmax;
  throw ValueError(str_cat(layer, ": unknown activation '", name,
                           "' (expected linear, relu, leaky_relu, gelu, gelu_tanh, silu, sigmoid, tanh, softmax or "
                           "log_softmax)"));
}

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::None: return "linear";
    case Activation::Relu: return "relu";
    case Activation::LeakyRelu: return "leaky_relu";
    case Activation::Gelu: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Silu: return "silu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Softmax: return "softmax";
    case Activation::LogSoftmax: return "log_softmax";
  }
  return "?";
}

Tensor apply_activation(Activation act, const Tensor& x, double negative_slope) {
  switch (act) {
    case Activation::None: return x;
    case Activation::Relu: return ag::unary(UnaryOp::Relu, x);
    case Activation::LeakyRelu: return ag::leaky_relu(x, negative_slope);
    case Activation::Gelu: return ag::gelu(x, false);
    case Activation::GeluTanh: return ag::gelu(x, true);
    case Activation::Silu: return ag::silu(x);
    case Activation::Sigmoid: return ag::unary(UnaryOp::Sigmoid, x);
    case Activation::Tanh: return ag::unary(UnaryOp::Tanh, x);
    case Activation::Softmax: return ag::softmax(x, -1, false);
    case Activation::LogSoftmax: return ag::softmax(x, -1, true);
  }
  return x;
}

Tensor ActivationLayer::forward(const Tensor& x) {
  if (act_ == Activation::Softmax || act_ == Activation::LogSoftmax)
    return ag::softmax(x, axis_, act_ == Activation::LogSoftmax);
  return apply_activation(act_, x, negative_slope_);
}

std::string ActivationLayer::describe() const {
  if (act_ == Activation::LeakyRelu) return str_cat(type_name(), "(negative_slope=", negative_slope_, ")");
  if (act_ == Activation::Softmax || act_ == Activation::LogSoftmax) return str_cat(type_name(), "(axis=", axis_, ")");
  if (act_ == Activation::GeluTanh) return type_name() + "(approximate='tanh')";
  return type_name() + "()";
}

Activation parse_activation(const std::optional<std::string>& name, const std::string& layer) {
  return name ? parse_activation(*name, layer) : Activation::None;
}

ConfigValue activation_config(Activation act) { return act == Activation::None ? ConfigValue() : activation_name(act); }

// Each activation layer records the arguments of its own constructor (aimass/nn/layers.py):
// ReLU() none, LeakyReLU(negative_slope), GELU(approximate), Softmax(axis), Activation(name).
Config ActivationLayer::config() const {
  const std::string& t = type_name();
  if (t == "ReLU" || t == "SiLU" || t == "Sigmoid" || t == "Tanh") return {};
  if (t == "LeakyReLU") return {{"negative_slope", negative_slope_}};
  if (t == "GELU") return {{"approximate", act_ == Activation::GeluTanh ? "tanh" : "none"}};
  if (t == "Softmax" || t == "LogSoftmax") return {{"axis", axis_}};
  if (t == "Activation") return {{"activation", activation_name(act_)}};
  return {{"activation", activation_name(act_)}, {"negative_slope", negative_slope_}, {"axis", axis_}};
}

}  // namespace aimass::nn
