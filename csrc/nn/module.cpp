#include "nn/module.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
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

}  // namespace

Tensor Module::forward(const Tensor&) {
  throw NotImplementedError(type_name_ + ": forward() is not implemented; subclasses of Module define it");
}

Tensor Module::call(const Tensor& x) {
  if (!built_) {
    {
      autograd::GradModeGuard no_grad(false);  // weight creation is not part of any graph
      build(x);
    }
    built_ = true;
    built_from_input_ = true;
    build_input_dtype_ = x.dtype();
    build_input_shape_ = x.dim() > 0 ? Shape(x.shape().begin() + 1, x.shape().end()) : Shape{};
  }
  return forward(x);
}

void Module::register_parameter(const std::string& name, const Tensor& value) {
  check_name(name, type_name_, "parameter");
  AM_CHECK(value.defined(), ValueError, type_name_, ": parameter '", name, "' is undefined");
  AM_CHECK(is_floating(value.dtype()), TypeError, type_name_, ": parameter '", name,
           "' must be floating, got ", value.describe());
  Tensor p = value;
  if (autograd::meta(value).grad_fn) p = leaf_of(value);  // a parameter is always a leaf
  p.impl()->requires_grad = true;
  put_named(params_, name, p);
}

void Module::register_buffer(const std::string& name, const Tensor& value) {
  check_name(name, type_name_, "buffer");
  put_named(buffers_, name, value.defined() ? leaf_of(value) : value);
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> child) {
  check_name(name, type_name_, "module");
  AM_CHECK(child != nullptr, ValueError, type_name_, ": module '", name, "' is None");
  AM_CHECK(child.get() != this, ValueError, type_name_, ": a module cannot be its own child");
  put_named(children_, name, std::move(child));
}

Tensor Module::parameter(const std::string& name) const {
  auto it = std::find_if(params_.begin(), params_.end(), [&](const auto& e) { return e.first == name; });
  return it == params_.end() ? Tensor() : it->second;
}

Tensor Module::buffer(const std::string& name) const {
  auto it = std::find_if(buffers_.begin(), buffers_.end(), [&](const auto& e) { return e.first == name; });
  return it == buffers_.end() ? Tensor() : it->second;
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  auto it = std::find_if(children_.begin(), children_.end(), [&](const auto& e) { return e.first == name; });
  return it == children_.end() ? nullptr : it->second;
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out,
                     std::vector<const TensorImpl*>& seen) const {
  for (const auto& [name, t] : params ? params_ : buffers_) {
    if (!t.defined() || std::find(seen.begin(), seen.end(), t.impl()) != seen.end()) continue;
    seen.push_back(t.impl());
    out.emplace_back(prefix + name, t);
  }
  for (const auto& [name, c] : children_) c->collect(prefix + name + ".", params, out, seen);
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
  for (const auto& [name, c] : children_)
    for (auto& [sub, m] : c->named_modules()) out.emplace_back(sub.empty() ? name : name + "." + sub, m);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
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
  training_ = mode;
  for (auto& [name, c] : children_) c->train(mode);
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
  autograd::GradModeGuard no_grad(false);
  for (auto& entry : state_dict())
    if (entry.second.device() != device) assign_data(entry.second, to_device(entry.second, device));
}

void Module::to(DType dtype) {
  AM_CHECK(is_floating(dtype), TypeError, type_name_, ".to: modules convert to floating dtypes only, got ", dtype_name(dtype));
  autograd::GradModeGuard no_grad(false);
  for (auto& entry : state_dict())
    if (is_floating(entry.second.dtype()) && entry.second.dtype() != dtype)
      assign_data(entry.second, to_dtype(entry.second, dtype));
}

void Module::zero_grad() {
  for (auto& entry : named_parameters())
    if (entry.second.impl()->autograd) entry.second.impl()->autograd->grad = Tensor();
}

}  // namespace aimass::nn
