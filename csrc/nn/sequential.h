// Sequential: layers applied in order, each to the previous one's output. Children are named
// by position ("0", "1", ...), so parameters read "0.weight", "2.bias".
#pragma once
#include <memory>
#include <vector>

#include "nn/module.h"

namespace aimass::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(const std::vector<std::shared_ptr<Module>>& layers);
  void add(std::shared_ptr<Module> layer);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return num_children(); }
  std::shared_ptr<Module> at(int64_t i) const;  // negative from the end; IndexError outside
};

}  // namespace aimass::nn
