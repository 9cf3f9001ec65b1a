// Dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p); in eval, the identity.
#pragma once
#include "nn/module.h"

namespace aimass::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  double p() const { return p_; }

 private:
  double p_;
};

}  // namespace aimass::nn
