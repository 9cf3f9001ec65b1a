// Module: the base of every layer and model. A module owns named parameters (tensors that
// require grad), named buffers (state such as running statistics, saved but not trained) and
// named child modules, in registration order. Layers whose weight shapes depend on the input
// (Dense(64) with no input size) create them on the first call, as Keras does: call() runs
// build() once, then forward().
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/config.h"

namespace aimass::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The layer's computation. Layers override it; the base raises NotImplementedError.
  virtual Tensor forward(const Tensor& x);
  // build() once (creating lazily sized weights from x), then forward(x).
  Tensor call(const Tensor& x);
  // Creates weights whose shapes depend on the first input. Sets built(); the default has none.
  virtual void build(const Tensor& x) {}
  bool built() const { return built_; }
  // The per-sample shape ([N, ...] without N) and dtype of the input that built this module's
  // lazily sized weights; empty shape and undefined when built by its constructor. Model files
  // record them so a loader can size the layers again before copying the weights in.
  const Shape& build_input_shape() const { return build_input_shape_; }
  DType build_input_dtype() const { return build_input_dtype_; }
  bool built_from_input() const { return built_from_input_; }

  const std::string& type_name() const { return type_name_; }
  // One line: the type and its settings, as in repr(): "Dense(units=64, activation=relu)".
  virtual std::string describe() const { return type_name_ + "()"; }
  // The constructor arguments that rebuild this layer (nn/config.h), sizes taken from the first
  // input included once built, so a saved model is rebuilt with its weights' shapes. Empty for
  // layers without arguments; containers (Sequential, Graph) are recorded by the Python side.
  virtual Config config() const { return {}; }

  // Registration. Parameters become leaves that require grad; names are unique per module
  // and may not contain '.'; registering an existing name replaces the entry.
  void register_parameter(const std::string& name, const Tensor& value);
  void register_buffer(const std::string& name, const Tensor& value);
  void register_module(const std::string& name, std::shared_ptr<Module> child);
  // The entry of that name, or an undefined tensor / null when there is none.
  Tensor parameter(const std::string& name) const;
  Tensor buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  const NamedTensors& own_parameters() const { return params_; }
  const NamedTensors& own_buffers() const { return buffers_; }
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  // Recursive, depth first, names joined with '.' ("0.weight", "attn.q_proj.bias").
  // A tensor shared by two modules is listed once, under its first name.
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  // This module first (named ""), then every descendant.
  std::vector<std::pair<std::string, Module*>> named_modules();

  // Parameters then buffers, as named_*; the tensors are the module's own (not copies).
  NamedTensors state_dict() const;
  // Copies each value into the tensor of that name, converting dtype and device. strict: every
  // key must match and nothing may be missing; ValueError naming the missing and unexpected keys
  // and the mismatched shapes. Nothing is changed unless every check passes.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);

  void train(bool mode = true);  // recursive
  bool training() const { return training_; }
  // Moves (or converts) every parameter and buffer in place: the same tensors, new data, so
  // handles held elsewhere (an optimizer) follow. Floating tensors only change dtype.
  void to(Device device);
  void to(DType dtype);
  void zero_grad();

 protected:
  void set_built() { built_ = true; }

 private:
  void collect(const std::string& prefix, bool params, NamedTensors& out, std::vector<const TensorImpl*>& seen) const;

  std::string type_name_;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  bool built_ = false;
  bool built_from_input_ = false;
  Shape build_input_shape_;
  DType build_input_dtype_ = DType::Float32;
};

// Replaces dst's data by src's (same TensorImpl, so every handle to dst sees it). Drops dst's
// .grad when the device or dtype changes.
void assign_data(const Tensor& dst, const Tensor& src);

}  // namespace aimass::nn
