// Fake quantisation (ops/fake_quant.h, autograd/fake_quant.h) against the quantisers of the int8
// kernels (quant/quantize.h), and the QAT layers' input range (nn/qat.h).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/engine.h"
#include "autograd/fake_quant.h"
#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/error.h"
#include "nn/qat.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/fake_quant.h"
#include "ops/reduce.h"
#include "quant/observer.h"
#include "quant/quantize.h"

using namespace aimass;
using namespace aimass::nn;

namespace {

Tensor from(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

std::vector<float> values(const Tensor& t) {
  Tensor c = contiguous(to_dtype(t, DType::Float32));
  return {c.data<float>(), c.data<float>() + c.numel()};
}

std::vector<float> ramp(int64_t n, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = lo + (hi - lo) * float(i) / float(n - 1);
  return v;
}

}  // namespace

TEST(QuantQat, PerTensorEqualsQuantizeThenDequantize) {
  const quant::QParams q = quant::u8_qparams(-1.3f, 2.9f, false);
  std::vector<float> x = ramp(1001, -2.0f, 4.0f);  // beyond the range on both sides
  x.push_back(0.0f);
  std::vector<uint8_t> codes(x.size());
  quant::quantize_u8(x.data(), int64_t(x.size()), q.scale, q.zero, codes.data());
  std::vector<float> y = values(fake_quant_per_tensor_u8(from(x, {int64_t(x.size())}), q.scale, q.zero));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], (float(codes[i]) - float(q.zero)) * q.scale) << x[i];
  EXPECT_EQ(y.back(), 0.0f);  // zero is exact
}

TEST(QuantQat, PerChannelEqualsTheInt8Weights) {
  std::vector<float> w = ramp(3 * 50, -0.7f, 0.4f);
  for (int i = 0; i < 50; ++i) w[size_t(100 + i)] *= 0.01f;  // a channel with a much smaller scale
  std::vector<int8_t> q(w.size());
  std::vector<float> scale(3);
  quant::quantize_weights_s8(w.data(), 3, 50, 50, q.data(), scale.data());
  Tensor wt = from(w, {3, 50});
  std::vector<float> s = values(weight_scales_s8(wt));
  for (int c = 0; c < 3; ++c) EXPECT_EQ(s[size_t(c)], scale[size_t(c)]);
  std::vector<float> y = values(fake_quant_per_channel_s8(wt, weight_scales_s8(wt)));
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(y[i], float(q[i]) * scale[i / 50]) << i;
}

TEST(QuantQat, StraightThroughGradientIsZeroWhereClamped) {
  const float scale = 0.1f;
  const int32_t zero = 10;  // grid [-1.0, 24.5]
  Tensor x = from({-3.0f, -1.0f, -0.5f, 0.0f, 7.77f, 24.5f, 30.0f}, {7});
  x.impl()->requires_grad = true;
  Tensor y = autograd::fake_quant_per_tensor_u8(x, scale, zero);
  autograd::backward({autograd::reduce(ReduceOp::Sum, y, std::nullopt, false)}, {Tensor()}, false);
  std::vector<float> g = values(autograd::meta(x).grad);
  EXPECT_EQ(g, (std::vector<float>{0, 1, 1, 1, 1, 1, 0}));

  Tensor w = from({0.5f, -0.25f, 2.0f, 0.1f}, {2, 2});
  Tensor s = from({0.5f / 127, 1.0f / 127}, {2});  // channel 1's 2.0 clamps to 127 * s
  w.impl()->requires_grad = true;
  autograd::backward({autograd::reduce(ReduceOp::Sum, autograd::fake_quant_per_channel_s8(w, s), std::nullopt, false)},
                     {Tensor()}, false);
  EXPECT_EQ(values(autograd::meta(w).grad), (std::vector<float>{1, 1, 0, 1}));
}

TEST(QuantQat, BadArguments) {
  Tensor x = from({1.0f, std::nanf("")}, {2});
  EXPECT_THROW(fake_quant_per_tensor_u8(x, 0.0f, 0), ValueError);
  EXPECT_THROW(fake_quant_per_tensor_u8(x, 1.0f, 256), ValueError);
  EXPECT_TRUE(std::isnan(values(fake_quant_per_tensor_u8(x, 0.1f, 0))[1]));  // NaN stays NaN
  EXPECT_THROW(fake_quant_per_channel_s8(from({1, 2, 3, 4}, {2, 2}), from({1}, {1})), ValueError);
  EXPECT_THROW(weight_scales_s8(from({1, std::nanf("")}, {1, 2})), ValueError);
}

TEST(QuantQat, DenseTracksAMovingAverageRangeWhenTraining) {
  FakeQuantDenseOptions o;
  o.units = 3;
  o.in_features = 4;
  o.qat.momentum = 0.5;
  FakeQuantDense layer(o);
  layer.train(false);
  EXPECT_THROW(layer.forward(from(ramp(4, 0, 1), {1, 4})), ValueError);  // no range yet
  layer.train(true);
  layer.forward(from(ramp(8, -1.0f, 3.0f), {2, 4}));
  EXPECT_EQ(values(layer.buffer("input_min"))[0], -1.0f);
  EXPECT_EQ(values(layer.buffer("input_max"))[0], 3.0f);
  layer.forward(from(ramp(8, -3.0f, 1.0f), {2, 4}));
  EXPECT_EQ(values(layer.buffer("input_min"))[0], -2.0f);  // -1 + 0.5 * (-3 - -1)
  EXPECT_EQ(values(layer.buffer("input_max"))[0], 2.0f);
  layer.train(false);
  layer.forward(from(ramp(8, -9.0f, 9.0f), {2, 4}));  // eval: frozen
  EXPECT_EQ(values(layer.buffer("input_min"))[0], -2.0f);
  EXPECT_EQ(contiguous(layer.buffer("input_batches")).data<int64_t>()[0], 2);
  layer.train(true);
  EXPECT_THROW(layer.forward(from({0, 1, std::nanf(""), 2}, {1, 4})), ValueError);
}
