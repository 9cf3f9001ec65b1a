// The layers of quantisation-aware training (am.quant.prepare_qat / convert; PyTorch's
// prepare_qat, TF-MOT's quantize_model): float layers that train against the int8 grids their
// conversion will use. Each forward fake-quantises (ops/fake_quant.h, straight-through gradient)
//   the weight:  symmetric s8 per output channel, scale = max |w[n]| / 127, from the current weight;
//   the input:   u8 per tensor, (scale, zero point) = u8_qparams(input_min, input_max) (quant/observer.h).
// In training mode the input range is tracked first, batch after batch: "moving_average" (each
// batch's min / max averaged in with weight `momentum`, the first batch taken as it is; PyTorch's
// MovingAverageMinMaxObserver) or "minmax" (everything seen). In eval mode (predict, evaluate)
// the range is frozen. am.quant.convert turns the layers into QuantizedDense (static) /
// QuantizedConv2D with exactly these grids.
//
//   FakeQuantDense   x (..., in) -> (..., units). Parameters weight (units, in), bias (units,).
//   FakeQuantConv2D  x (N, C, H, W) -> (N, filters, OH, OW); groups 1. Parameters weight
//                    (filters, C, KH, KW), bias (filters,).
// Buffers of both: input_min, input_max float32 (1,), input_batches int64 (1,) (how many
// training batches were observed; 0: no range yet, and an eval-mode forward is a ValueError).
// A non-finite value in a training batch is a ValueError naming the layer.
#pragma once
#include <string>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/module.h"

namespace aimass::nn {

enum class RangeMethod : uint8_t { MovingAverage, MinMax };
RangeMethod range_method_from_name(const std::string& name, const std::string& layer);  // ValueError otherwise
const char* range_method_name(RangeMethod m);

struct QatOptions {
  RangeMethod method = RangeMethod::MovingAverage;
  double momentum = 0.01;  // moving_average: weight of each new batch, in (0, 1]
};

struct FakeQuantDenseOptions {
  int64_t units = 0;
  int64_t in_features = 0;
  Activation activation = Activation::None;
  bool use_bias = true;
  QatOptions qat;
};

class FakeQuantDense : public Module {
 public:
  explicit FakeQuantDense(const FakeQuantDenseOptions& options);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const FakeQuantDenseOptions& options() const { return options_; }

 private:
  FakeQuantDenseOptions options_;
};

class FakeQuantConv2D : public Conv2D {
 public:
  FakeQuantConv2D(const ConvOptions& options, const QatOptions& qat);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Config config() const override;
  const QatOptions& qat_options() const { return qat_; }

 private:
  QatOptions qat_;
};

}  // namespace aimass::nn
