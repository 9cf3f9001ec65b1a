// Pooling layers, NCHW. MaxPool2D / AvgPool2D: x (N, C, H, W) -> (N, C, OH, OW) with
// OH = floor((H + 2 PH - KH) / SH) + 1 (ceil with ceil_mode). GlobalAveragePooling2D:
// (N, C, H, W) -> (N, C) (keepdims: (N, C, 1, 1)).
#pragma once
#include <array>

#include "nn/module.h"

namespace aimass::nn {

struct PoolOptions {
  std::array<int64_t, 2> kernel{2, 2};
  std::array<int64_t, 2> stride{0, 0};  // 0: the kernel size
  std::array<int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // AvgPool2D
};

class Pool2D : public Module {
 public:
  Pool2D(std::string type_name, const PoolOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const PoolOptions& options() const { return options_; }

 private:
  PoolOptions options_;
  bool max_;  // MaxPool2D, else AvgPool2D
};

class MaxPool2D : public Pool2D {
 public:
  explicit MaxPool2D(const PoolOptions& options) : Pool2D("MaxPool2D", options) {}
};

class AvgPool2D : public Pool2D {
 public:
  explicit AvgPool2D(const PoolOptions& options) : Pool2D("AvgPool2D", options) {}
};

class GlobalAveragePooling2D : public Module {
 public:
  explicit GlobalAveragePooling2D(bool keepdims = false) : Module("GlobalAveragePooling2D"), keepdims_(keepdims) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  bool keepdims() const { return keepdims_; }

 private:
  bool keepdims_;
};

}  // namespace aimass::nn
