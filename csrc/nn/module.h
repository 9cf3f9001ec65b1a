// Module: the base of every layer and model. A module owns named parameters (tensors that
// require grad), named buffers (state such as running statistics, saved but not trained) and
// named child modules, in registration order. Layers whose weight shapes depend on the input
// (Dense(64) with no input size) create them on the first call, as Keras does: call() runs
// build() once, then forward().
//
// Threads: a module may run in many threads at once (concurrent predicts give the serial
// results). call() and fit / evaluate / predict use the module (nn/use_gate.h); a structural
// change (register_*, Sequential.add, to(), load_state_dict, zero_grad) while another thread
// uses it raises RuntimeError "... is in use by another thread". The registries are guarded by
// a mutex (accessors return copies); the lazy build runs once, under its own mutex; the
// train / eval mode is atomic, and fit / evaluate / predict set the mode their thread sees
// (ModeScope) instead of flipping the shared flag.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/config.h"
#include "nn/use_gate.h"

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
  bool built() const { return built_.load(std::memory_order_acquire); }
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
  // Drops the buffer of that name; false when there is none (am.quant.remove_pruning drops masks).
  bool remove_buffer(const std::string& name);
  // The entry of that name, or an undefined tensor / null when there is none.
  Tensor parameter(const std::string& name) const;
  Tensor buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;

  // Copies, taken under the registry mutex.
  NamedTensors own_parameters() const;
  NamedTensors own_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children() const;
  size_t num_children() const;
  std::shared_ptr<Module> child_at(size_t i) const;  // registration order; std::out_of_range outside

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
  // The mode: this thread's ModeScope when one is open, else the module's own flag.
  bool training() const;
  // Moves (or converts) every parameter and buffer in place: the same tensors, new data, so
  // handles held elsewhere (an optimizer) follow. Floating tensors only change dtype.
  void to(Device device);
  void to(DType dtype);
  void zero_grad();

  // Uses this module and every descendant (shared) while alive: fit, evaluate and predict hold
  // one for their whole run, so no structural change lands between two batches.
  class InUse {
   public:
    explicit InUse(const Module& model);
    ~InUse();
    InUse(const InUse&) = delete;
    InUse& operator=(const InUse&) = delete;

   private:
    std::vector<std::shared_ptr<const Module>> kept_;  // descendants, alive while used
    std::vector<const Module*> used_;
  };

 protected:
  void set_built() { built_.store(true, std::memory_order_release); }

  // A structural change of this module (or, with `tree`, of it and every descendant): enters
  // the gate exclusive, or raises RuntimeError naming `what` while another thread uses it. The
  // thread building this module (call() -> build()) changes it freely.
  class Change {
   public:
    Change(Module& m, const char* what, bool tree = false);
    ~Change();
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;

   private:
    std::vector<Module*> changed_;
    std::vector<std::shared_ptr<Module>> kept_;
  };

 private:
  void build_once(const Tensor& x);
  void collect(const std::string& prefix, bool params, NamedTensors& out, std::vector<const TensorImpl*>& seen) const;

  std::string type_name_;
  mutable std::mutex registry_mutex_;  // guards params_, buffers_, children_
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  mutable UseGate gate_;
  std::mutex build_mutex_;
  std::atomic<bool> training_{true};
  std::atomic<bool> built_{false};
  bool built_from_input_ = false;
  Shape build_input_shape_;
  DType build_input_dtype_ = DType::Float32;
};

// For the current thread, every module reports training() == mode until the scope ends (fit
// trains, evaluate and predict run in eval mode, without changing what other threads see).
class ModeScope {
 public:
  explicit ModeScope(bool training);
  ~ModeScope();
  ModeScope(const ModeScope&) = delete;
  ModeScope& operator=(const ModeScope&) = delete;

 private:
  int previous_;
};

// Replaces dst's data by src's (same TensorImpl, so every handle to dst sees it). Drops dst's
// .grad when the device or dtype changes.
void assign_data(const Tensor& dst, const Tensor& src);

}  // namespace aimass::nn
