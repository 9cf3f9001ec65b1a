// Layers that only change the shape. Flatten: x (N, d1, d2, ...) -> (N, d1 * d2 * ...)
// (axes start_axis..end_axis merged). Reshape(target): x (N, ...) -> (N, *target), the batch
// axis kept and one -1 allowed in target, as Keras's Reshape.
#pragma once
#include "nn/module.h"

namespace aimass::nn {

class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_axis = 1, int64_t end_axis = -1)
      : Module("Flatten"), start_axis_(start_axis), end_axis_(end_axis) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  int64_t start_axis() const { return start_axis_; }
  int64_t end_axis() const { return end_axis_; }

 private:
  int64_t start_axis_, end_axis_;
};

class Reshape : public Module {
 public:
  explicit Reshape(Shape target);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const Shape& target_shape() const { return target_; }

 private:
  Shape target_;
};

}  // namespace aimass::nn
