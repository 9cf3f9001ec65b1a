#include "nn/module.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/device_api.h"
#include "core/error.h"
#include "ops/convert.h"

namespace aimass::nn {

namespace {

template <typename T>
auto find_named(std::vector<std::pair<std::string, T>>& entries, const std::string& name) {
  return std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == name; });
}

template <typename T>
void put_named(std::vector<std::pair<std::string, T>>& entries, const std::string& name, T value) {
  auto it = find_named(entries, name);
  if (it != entries.end()) it->second = std::move(value);
  else entries.emplace_back(name, std::move(value));
}

void check_name(const std::string& name, const std::string& module, const char* what) {
  AM_CHECK(!name.empty() && name.find('.') == std::string::npos, ValueError, module, ": a ", what,
           " name must be non-empty and contain no '.', got '", name, "'");
}

// The tensor itself without its history: what a module stores.
Tensor leaf_of(const Tensor& t) { return t.as_strided(t.shape(), t.strides(), t.offset()); }

thread_local int mode_override = -1;              // ModeScope: -1 none, 0 eval, 1 train
thread_local const Module* building = nullptr;    // the module this thread's call() is building

// The module and every descendant, depth first (each once), as shared handles of the children.
void descendants(const Module& m, std::vector<std::shared_ptr<Module>>& out) {
  for (auto& [name, c] : m.children()) {
    if (std::find(out.begin(), out.end(), c) != out.end()) continue;
    out.push_back(c);
    descendants(*c, out);
  }
}

}  // namespace

ModeScope::ModeScope(bool training) : previous_(mode_override) { mode_override = training ? 1 : 0; }
ModeScope::~ModeScope() { mode_override = previous_; }

bool Module::training() const {
  return mode_override >= 0 ? mode_override == 1 : training_.load(std::memory_order_relaxed);
}

Module::InUse::InUse(const Module& model) {
  std::vector<std::shared_ptr<Module>> all;
  descendants(model, all);
  kept_.assign(all.begin(), all.end());
  used_.push_back(&model);
  for (const auto& m : all) used_.push_back(m.get());
  for (const Module* m : used_) m->gate_.enter_shared();
}

Module::InUse::~InUse() {
  for (const Module* m : used_) m->gate_.exit_shared();
}

Module::Change::Change(Module& m, const char* what, bool tree) {
  std::vector<Module*> targets{&m};
  if (tree) {
    descendants(m, kept_);
    for (const auto& c : kept_) targets.push_back(c.get());
  }
  for (Module* t : targets) {
    if (building == t) continue;  // filling in its own weights
    if (!t->gate_.try_enter_exclusive()) {
      for (Module* done : changed_) done->gate_.exit_exclusive();
      changed_.clear();
      throw RuntimeError(str_cat(m.type_name(), ".", what, ": ", t == &m ? "the module" : "one of its layers (" + t->type_name() + ")",
                                 " is in use by another thread (fit / predict / a forward is running); wait for it "
                                 "to finish, or change the model before sharing it between threads"));
    }
    changed_.push_back(t);
  }
}

Module::Change::~Change() {
  for (Module* t : changed_) t->gate_.exit_exclusive();
}

Tensor Module::forward(const Tensor&) {
  throw NotImplementedError(type_name_ + ": forward() is not implemented; subclasses of Module define it");
}

Tensor Module::call(const Tensor& x) {
  gate_.enter_shared();
  struct Exit {
    UseGate& gate;
    ~Exit() { gate.exit_shared(); }
  } exit{gate_};
  if (!built()) build_once(x);
  return forward(x);
}

// Once, whichever threads call first: the others wait here until the weights exist.
void Module::build_once(const Tensor& x) {
  std::lock_guard<std::mutex> lock(build_mutex_);
  if (built_.load(std::memory_order_relaxed)) return;
  const Module* outer = building;
  building = this;
  struct Restore {
    const Module* outer;
    ~Restore() { building = outer; }
  } restore{outer};
  {
    autograd::GradModeGuard no_grad(false);  // weight creation is not part of any graph
    build(x);
  }
  built_from_input_ = true;
  build_input_dtype_ = x.dtype();
  build_input_shape_ = x.dim() > 0 ? Shape(x.shape().begin() + 1, x.shape().end()) : Shape{};
  built_.store(true, std::memory_order_release);
}

void Module::register_parameter(const std::string& name, const Tensor& value) {
  check_name(name, type_name_, "parameter");
  AM_CHECK(value.defined(), ValueError, type_name_, ": parameter '", name, "' is undefined");
  AM_CHECK(is_floating(value.dtype()), TypeError, type_name_, ": parameter '", name,
           "' must be floating, got ", value.describe());
  Tensor p = value;
  if (autograd::meta(value).grad_fn) p = leaf_of(value);  // a parameter is always a leaf
  p.impl()->requires_grad = true;
  Change change(*this, "register_parameter");
  std::lock_guard<std::mutex> lock(registry_mutex_);
  put_named(params_, name, p);
}

void Module::register_buffer(const std::string& name, const Tensor& value) {
  check_name(name, type_name_, "buffer");
  Tensor b = value.defined() ? leaf_of(value) : value;
  Change change(*this, "register_buffer");
  std::lock_guard<std::mutex> lock(registry_mutex_);
  put_named(buffers_, name, b);
}

bool Module::remove_buffer(const std::string& name) {
  Change change(*this, "remove_buffer");
  std::lock_guard<std::mutex> lock(registry_mutex_);
  auto it = find_named(buffers_, name);
  if (it == buffers_.end()) return false;
  buffers_.erase(it);
  return true;
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
  check_name(name, type_name_, "module");
  AM_CHECK(child != nullptr, ValueError, type_name_, ": module '", name, "' is None");
  AM_CHECK(child.get() != this, ValueError, type_name_, ": a module cannot be its own child");
  Change change(*this, "register_module");
  std::shared_ptr<Module> replaced;  // released after the lock: its destructor may run Python code
  std::lock_guard<std::mutex> lock(registry_mutex_);
  auto it = find_named(children_, name);
  if (it != children_.end()) replaced = std::exchange(it->second, std::move(child));
  else children_.emplace_back(name, std::move(child));
}

NamedTensors Module::own_parameters() const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  return params_;
}

NamedTensors Module::own_buffers() const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  return buffers_;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::children() const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  return children_;
}

size_t Module::num_children() const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  return children_.size();
}

std::shared_ptr<Module> Module::child_at(size_t i) const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  return children_.at(i).second;
}

Tensor Module::parameter(const std::string& name) const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  auto it = std::find_if(params_.begin(), params_.end(), [&](const auto& e) { return e.first == name; });
  return it == params_.end() ? Tensor() : it->second;
}

Tensor Module::buffer(const std::string& name) const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  auto it = std::find_if(buffers_.begin(), buffers_.end(), [&](const auto& e) { return e.first == name; });
  return it == buffers_.end() ? Tensor() : it->second;
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  std::lock_guard<std::mutex> lock(registry_mutex_);
  auto it = std::find_if(children_.begin(), children_.end(), [&](const auto& e) { return e.first == name; });
  return it == children_.end() ? nullptr : it->second;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out,
                     std::vector<const TensorImpl*>& seen) const {
  for (const auto& [name, t] : params ? own_parameters() : own_buffers()) {
    if (!t.defined() || std::find(seen.begin(), seen.end(), t.impl()) != seen.end()) continue;
    seen.push_back(t.impl());
    out.emplace_back(prefix + name, t);
  }
  for (const auto& [name, c] : children()) c->collect(prefix + name + ".", params, out, seen);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", true, out, seen);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", false, out, seen);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (const auto& [name, c] : children())
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  Change change(*this, "load_state_dict", true);
  NamedTensors own = state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (it->second.shape() != t.shape()) {
      mismatched.push_back(str_cat(name, ": expected ", t.shape(), ", got ", it->second.shape()));
    }
  }
  for (const auto& [name, t] : state)
    if (std::none_of(own.begin(), own.end(), [&](const auto& e) { return e.first == name; })) unexpected.push_back(name);
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "'" : ", '") + x + "'";
    return s;
  };
  std::string problems;
  if (!mismatched.empty()) problems += " shape mismatch for " + join(mismatched) + ".";
  if (strict && !missing.empty()) problems += " missing keys: " + join(missing) + ".";
  if (strict && !unexpected.empty()) problems += " unexpected keys: " + join(unexpected) + ".";
  bool all_built = true;
  for (auto& [name, m] : const_cast<Module*>(this)->named_modules()) all_built = all_built && m->built();
  if (!all_built && !problems.empty())
    problems += " Some layers are not built yet (lazily sized layers create their weights on the first call): "
                "call the model on an input, or model.build(input_shape), first.";
  AM_CHECK(problems.empty(), ValueError, type_name_, ".load_state_dict:", problems);
  autograd::GradModeGuard no_grad(false);
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it != state.end()) copy_into(t, it->second, "load_state_dict");
  }
}

void Module::train(bool mode) {
  training_.store(mode, std::memory_order_relaxed);
  for (auto& [name, c] : children()) c->train(mode);
}

void assign_data(const Tensor& dst, const Tensor& src) {
  TensorImpl* d = dst.impl();
  bool changed = d->dtype != src.dtype() || dst.device() != src.device();
  d->storage = src.storage();
  d->offset = src.offset();
  d->shape = src.shape();
  d->strides = src.strides();
  d->dtype = src.dtype();
  if (changed && d->autograd) d->autograd->grad = Tensor();
}

void Module::to(Device device) {
  check_device(device);  // an unbuilt module (no tensors yet) refuses a missing device too
  Change change(*this, "to", true);
  autograd::GradModeGuard no_grad(false);
  for (auto& entry : state_dict())
    if (entry.second.device() != device) assign_data(entry.second, to_device(entry.second, device));
}

void Module::to(DType dtype) {
  AM_CHECK(is_floating(dtype), TypeError, type_name_, ".to: modules convert to floating dtypes only, got ", dtype_name(dtype));
  Change change(*this, "to", true);
  autograd::GradModeGuard no_grad(false);
  for (auto& entry : state_dict())
    if (is_floating(entry.second.dtype()) && entry.second.dtype() != dtype)
      assign_data(entry.second, to_dtype(entry.second, dtype));
}

void Module::zero_grad() {
  Change change(*this, "zero_grad", true);
  for (auto& entry : named_parameters())
    if (entry.second.impl()->autograd) entry.second.impl()->autograd->grad = Tensor();
}

}  // namespace aimass::nn
