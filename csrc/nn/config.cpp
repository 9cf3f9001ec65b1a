#include "nn/config.h"

#include "core/error.h"
#include "ops/convert.h"

namespace aimass::nn {

ConfigValue ConfigValue::tuple(std::vector<ConfigValue> items) {
  ConfigValue v;
  v.kind = Kind::Tuple;
  v.items = std::move(items);
  return v;
}

ConfigValue ConfigValue::list(std::vector<ConfigValue> items) {
  ConfigValue v = tuple(std::move(items));
  v.kind = Kind::List;
  return v;
}

bool ConfigValue::operator==(const ConfigValue& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::None: return true;
    case Kind::Bool: return b == o.b;
    case Kind::Int: return i == o.i;
    case Kind::Float: return f == o.f;
    case Kind::String: return s == o.s;
    case Kind::Tuple:
    case Kind::List: return items == o.items;
  }
  return false;
}

const ConfigValue& config_at(const Config& config, const std::string& key) {
  std::string keys;
  for (const auto& [k, v] : config) {
    if (k == key) return v;
    keys += (keys.empty() ? "" : ", ") + k;
  }
  throw ValueError(str_cat("config: no key '", key, "'; the keys are: ", keys.empty() ? "(none)" : keys));
}

ConfigValue pair_value(const std::array<int64_t, 2>& v) { return ConfigValue::tuple({v[0], v[1]}); }

ConfigValue shape_value(const Shape& shape) {
  std::vector<ConfigValue> items(shape.begin(), shape.end());
  return ConfigValue::tuple(std::move(items));
}

ConfigValue size_or_none(int64_t size) { return size ? ConfigValue(size) : ConfigValue(); }

namespace {

// t is a contiguous CPU tensor of bool, int64 or float64; the values from `offset` on.
ConfigValue nested_values(const Tensor& t, int64_t dim, int64_t& offset) {
  if (dim == t.dim()) {
    int64_t k = offset++;
    if (t.dtype() == DType::Bool) return ConfigValue(static_cast<const bool*>(t.data_ptr())[k]);
    if (t.dtype() == DType::Int64) return ConfigValue(static_cast<const int64_t*>(t.data_ptr())[k]);
    return ConfigValue(static_cast<const double*>(t.data_ptr())[k]);
  }
  std::vector<ConfigValue> items;
  for (int64_t j = 0; j < t.size(dim); ++j) items.push_back(nested_values(t, dim + 1, offset));
  return ConfigValue::list(std::move(items));
}

}  // namespace

ConfigValue tensor_values(const Tensor& t) {
  if (!t.defined()) return {};
  DType as = t.dtype() == DType::Bool ? DType::Bool : is_floating(t.dtype()) ? DType::Float64 : DType::Int64;
  Tensor host = contiguous(to_dtype(to_device(t, Device()), as));
  int64_t offset = 0;
  return nested_values(host, 0, offset);
}

}  // namespace aimass::nn
