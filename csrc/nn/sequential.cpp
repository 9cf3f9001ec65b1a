#include "nn/sequential.h"

#include "core/error.h"

namespace aimass::nn {

Sequential::Sequential(const std::vector<std::shared_ptr<Module>>& layers) : Module("Sequential") {
  for (const auto& layer : layers) add(layer);
  set_built();  // its layers build themselves
}

void Sequential::add(std::shared_ptr<Module> layer) {
  AM_CHECK(layer != nullptr, ValueError, "Sequential: a layer is None");
  Change change(*this, "add");  // held across the two steps: two adds never take the same name
  register_module(std::to_string(num_children()), std::move(layer));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, layer] : children()) y = layer->call(y);
  return y;
}

std::shared_ptr<Module> Sequential::at(int64_t i) const {
  auto layers = children();
  int64_t n = int64_t(layers.size());
  AM_CHECK(i >= -n && i < n, IndexError, "Sequential: index ", i, " is out of range for ", n, " layers");
  return layers[size_t(i < 0 ? i + n : i)].second;
}

}  // namespace aimass::nn
