// A layer's configuration: the constructor arguments that rebuild it, by keyword and in the
// constructor's order, as a model file records them (aimass/nn/serialization.py writes them as
// the JSON object "config"). The values are JSON-like: None, bool, int, float, string, and
// tuples / lists of values (a tuple is a fixed-size argument such as kernel_size=(3, 3); a
// list holds data such as a loss's class weights). Bindings convert a Config to a dict, once,
// for every layer.
//
//   Dense(64, activation="relu").config()
//     -> {units: 64, activation: "relu", use_bias: true, kernel_initializer: "glorot_uniform",
//         bias_initializer: "zeros", in_features: None}
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace aimass::nn {

struct ConfigValue {
  enum class Kind : uint8_t { None, Bool, Int, Float, String, Tuple, List } kind = Kind::None;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<ConfigValue> items;  // Tuple, List

  ConfigValue() = default;  // None
  ConfigValue(bool v) : kind(Kind::Bool), b(v) {}
  ConfigValue(int v) : kind(Kind::Int), i(v) {}
  ConfigValue(int64_t v) : kind(Kind::Int), i(v) {}
  ConfigValue(double v) : kind(Kind::Float), f(v) {}
  ConfigValue(const char* v) : kind(Kind::String), s(v) {}
  ConfigValue(std::string v) : kind(Kind::String), s(std::move(v)) {}
  static ConfigValue tuple(std::vector<ConfigValue> items);
  static ConfigValue list(std::vector<ConfigValue> items);

  bool is_none() const { return kind == Kind::None; }
  bool operator==(const ConfigValue& o) const;
  bool operator!=(const ConfigValue& o) const { return !(*this == o); }
};

using Config = std::vector<std::pair<std::string, ConfigValue>>;

// The value of `key`; ValueError naming the key and the keys there are otherwise.
const ConfigValue& config_at(const Config& config, const std::string& key);

// (a, b) as a tuple: kernel_size=(3, 3).
ConfigValue pair_value(const std::array<int64_t, 2>& v);
// A shape as a tuple of ints.
ConfigValue shape_value(const Shape& shape);
// A size that 0 marks as "taken from the first input": None then, the int otherwise.
ConfigValue size_or_none(int64_t size);
// A tensor's values as nested lists (as NumPy's tolist()), None for an undefined tensor.
ConfigValue tensor_values(const Tensor& t);

}  // namespace aimass::nn
