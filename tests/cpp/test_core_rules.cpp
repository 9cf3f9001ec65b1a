// The rules the Python bindings used to hold, called from C++: autograd leaf rules
// (autograd/leaf_rules.h), layer configs (nn/config.h), layer argument parsing (nn/layer_args.h,
// nn/conv.h, nn/merge.h, nn/pool.h), device names (core/device.h), weak scalar typing
// (ops/weak_scalar.h) and the autocast checks (nn/autocast.h).
#include <gtest/gtest.h>

#include <memory>

#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/leaf_rules.h"
#include "core/device.h"
#include "core/error.h"
#include "nn/activation.h"
#include "nn/autocast.h"
#include "nn/config.h"
#include "nn/conv.h"
#include "nn/dense.h"
#include "nn/layer_args.h"
#include "nn/loss.h"
#include "nn/merge.h"
#include "nn/normalization.h"
#include "nn/pool.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/weak_scalar.h"

using namespace aimass;
using namespace aimass::nn;
namespace ag = aimass::autograd;

namespace {

Tensor floats(const Shape& shape) { return full(shape, Scalar::from_float(1.0), DType::Float32); }

}  // namespace

// ---------------------------------------------------------------- autograd leaf rules

TEST(LeafRules, RequiresGradOnlyOnFloatingLeaves) {
  Tensor x = floats({2});
  EXPECT_TRUE(ag::is_leaf(x));
  ag::set_requires_grad(x, true, "test");
  EXPECT_TRUE(x.impl()->requires_grad);
  Tensor y = ag::binary(BinaryOp::Mul, x, Scalar::from_float(2.0));
  EXPECT_FALSE(ag::is_leaf(y));
  EXPECT_FALSE(ag::grad_fn_name(y).empty());
  EXPECT_TRUE(ag::grad_fn_name(x).empty());
  EXPECT_THROW(ag::set_requires_grad(y, false, "test"), RuntimeError);  // detach() it instead
  ag::set_requires_grad(y, true, "test");                                // asking for it again is fine
  Tensor ints = full({2}, Scalar::from_int(1), DType::Int64);
  EXPECT_THROW(ag::set_requires_grad(ints, true, "test"), TypeError);
  ag::set_requires_grad(ints, false, "test");
}

TEST(LeafRules, GradMustMatchShapeAndDevice) {
  Tensor x = floats({2, 3});
  EXPECT_FALSE(ag::grad_of(x).defined());
  ag::set_grad(x, floats({2, 3}));
  EXPECT_TRUE(ag::grad_of(x).defined());
  EXPECT_THROW(ag::set_grad(x, floats({3, 2})), ValueError);
  ag::set_grad(x, Tensor());
  EXPECT_FALSE(ag::grad_of(x).defined());
}

TEST(LeafRules, InPlaceRefusedOnTensorsThatRequireGrad) {
  Tensor x = floats({2});
  ag::check_in_place(x, "fill_");
  ag::set_requires_grad(x, true, "test");
  EXPECT_THROW(ag::check_in_place(x, "fill_"), RuntimeError);
  ag::GradModeGuard no_grad(false);
  ag::check_in_place(x, "fill_");
}

// ---------------------------------------------------------------- device names

TEST(DeviceParse, AcceptsEveryForm) {
  EXPECT_EQ(Device::parse("cpu"), Device(DeviceType::CPU));
  EXPECT_EQ(Device::parse("cuda"), Device(DeviceType::CUDA, 0));
  EXPECT_EQ(Device::parse("gpu"), Device(DeviceType::CUDA, 0));
  EXPECT_EQ(Device::parse("cuda:3"), Device(DeviceType::CUDA, 3));
  EXPECT_EQ(Device::parse("gpu:3"), Device(DeviceType::CUDA, 3));
  for (const char* bad : {"tpu", "cuda:", "gpu:", "cuda:x", "cuda:-1", "cuda:+1", "cuda: 1", "CPU", "cuda:99999", ""})
    EXPECT_THROW(Device::parse(bad), ValueError) << bad;
  try {
    Device::parse("tpu");
  } catch (const ValueError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("'tpu'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'gpu:N'"), std::string::npos) << msg;
  }
}

TEST(DeviceParse, NamesADevice) {
  for (const char* s : {"cpu", "cuda", "gpu", "cuda:1", "gpu:1", "cuda:x"}) EXPECT_TRUE(Device::names_a_device(s)) << s;
  for (const char* s : {"float32", "int64", "half", "tpu"}) EXPECT_FALSE(Device::names_a_device(s)) << s;
}

// ---------------------------------------------------------------- weak scalar typing

TEST(WeakScalar, ANumberTakesTheTensorsDtypeUnlessItsCategoryIsHigher) {
  Device cpu;
  EXPECT_EQ(weak_scalar_tensor(Scalar::from_float(1.5), DType::Float16, cpu).dtype(), DType::Float16);
  EXPECT_EQ(weak_scalar_tensor(Scalar::from_float(1.5), DType::Int8, cpu).dtype(), DType::Float32);
  EXPECT_EQ(weak_scalar_tensor(Scalar::from_int(3), DType::Int8, cpu).dtype(), DType::Int8);
  EXPECT_EQ(weak_scalar_tensor(Scalar::from_int(3), DType::Bool, cpu).dtype(), DType::Int64);
  EXPECT_EQ(weak_scalar_tensor(Scalar::from_bool(true), DType::Float64, cpu).dtype(), DType::Float64);
  Tensor h = full({2}, Scalar::from_float(1.0), DType::Float16);
  EXPECT_EQ(ag::binary(BinaryOp::Add, h, Scalar::from_float(1.5)).dtype(), DType::Float16);
  EXPECT_EQ(ag::binary(BinaryOp::Add, Scalar::from_float(1.5), h).dtype(), DType::Float16);
}

TEST(WeakScalar, WhereOperands) {
  Device cpu;
  Tensor h = full({2}, Scalar::from_float(1.0), DType::Float16);
  auto [a, b] = weak_operands(Operand::of(h), Operand::number(Scalar::from_float(0.5)), cpu);
  EXPECT_EQ(a.dtype(), DType::Float16);
  EXPECT_EQ(b.dtype(), DType::Float16);
  EXPECT_EQ(b.dim(), 0);
  auto [c, d] = weak_operands(Operand::number(Scalar::from_int(2)), Operand::of(h), cpu);
  EXPECT_EQ(c.dtype(), DType::Float16);
  EXPECT_TRUE(d.is_same(h));
  auto [e, f] = weak_operands(Operand::number(Scalar::from_int(1)), Operand::number(Scalar::from_float(2.5)), cpu);
  EXPECT_EQ(e.dtype(), DType::Int64);    // its own default
  EXPECT_EQ(f.dtype(), DType::Float32);  // float next to int64
}

// ---------------------------------------------------------------- layer arguments

TEST(LayerArgs, IntOrPair) {
  EXPECT_EQ(int_pair(IntOrPair(int64_t(3)), "kernel_size"), (std::array<int64_t, 2>{3, 3}));
  EXPECT_EQ(int_pair(IntOrPair(std::vector<int64_t>{3, 5}), "kernel_size"), (std::array<int64_t, 2>{3, 5}));
  EXPECT_THROW(int_pair(IntOrPair(std::vector<int64_t>{3}), "kernel_size"), ValueError);
  EXPECT_THROW(int_pair(IntOrPair(std::vector<int64_t>{1, 2, 3}), "kernel_size"), ValueError);
}

TEST(LayerArgs, Padding) {
  EXPECT_EQ(parse_padding(std::string("same"), "Conv2D").mode, PaddingMode::Same);
  EXPECT_EQ(parse_padding(std::string("valid"), "Conv2D").mode, PaddingMode::Valid);
  PaddingSpec one = parse_padding(int64_t(2), "Conv2D");
  EXPECT_EQ(one.mode, PaddingMode::Explicit);
  EXPECT_EQ(one.size, (std::array<int64_t, 2>{2, 2}));
  PaddingSpec two = parse_padding(std::vector<int64_t>{1, 2}, "Conv2D");
  EXPECT_EQ(two.size, (std::array<int64_t, 2>{1, 2}));
  EXPECT_THROW(parse_padding(std::string("full"), "Conv2D"), ValueError);
  EXPECT_THROW(parse_padding(std::vector<int64_t>{1, 2, 3}, "Conv2D"), ValueError);
}

TEST(LayerArgs, Conv1DIsAConv2DOverAHeightOfOne) {
  Conv1DOptions o;
  o.filters = 4;
  o.kernel = 3;
  o.stride = 2;
  o.dilation = 1;
  o.set_padding(parse_padding(int64_t(1), "Conv1D"));
  ConvOptions c = conv1d_as_conv2d(o);
  EXPECT_EQ(c.kernel, (std::array<int64_t, 2>{1, 3}));
  EXPECT_EQ(c.stride, (std::array<int64_t, 2>{1, 2}));
  EXPECT_EQ(c.padding, (std::array<int64_t, 2>{0, 1}));
  Conv1D layer(o);
  Config config = layer.config();
  EXPECT_EQ(config_at(config, "kernel_size"), ConfigValue(3));
  EXPECT_EQ(config_at(config, "strides"), ConfigValue(2));
  EXPECT_EQ(config_at(config, "padding"), ConfigValue(1));
}

TEST(LayerArgs, PoolStrideDefaultsToThePoolSize) {
  PoolOptions o;
  o.kernel = {3, 2};
  MaxPool2D pool(o);
  EXPECT_EQ(pool.options().stride, (std::array<int64_t, 2>{3, 2}));
  EXPECT_EQ(config_at(pool.config(), "strides"), pair_value({3, 2}));
}

TEST(LayerArgs, MergeOpAndActivationNames) {
  EXPECT_EQ(parse_merge_op("average"), MergeOp::Average);
  EXPECT_THROW(parse_merge_op("concat"), ValueError);
  EXPECT_EQ(parse_activation(std::optional<std::string>(), "Dense"), Activation::None);
  EXPECT_EQ(parse_activation(std::optional<std::string>("relu"), "Dense"), Activation::Relu);
  EXPECT_THROW(parse_activation(std::optional<std::string>("relux"), "Dense"), ValueError);
}

// ---------------------------------------------------------------- layer configs

TEST(LayerConfig, Dense) {
  DenseOptions o;
  o.units = 8;
  o.activation = Activation::Relu;
  Dense d(o);
  Config c = d.config();
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].first, "units");  // constructor order
  EXPECT_EQ(config_at(c, "units"), ConfigValue(8));
  EXPECT_EQ(config_at(c, "activation"), ConfigValue("relu"));
  EXPECT_EQ(config_at(c, "use_bias"), ConfigValue(true));
  EXPECT_EQ(config_at(c, "kernel_initializer"), ConfigValue("glorot_uniform"));
  EXPECT_TRUE(config_at(c, "in_features").is_none());  // lazy until built
  d.call(floats({2, 5}));
  EXPECT_EQ(config_at(d.config(), "in_features"), ConfigValue(5));
  EXPECT_THROW(config_at(c, "filters"), ValueError);
}

TEST(LayerConfig, Conv2DAndBatchNorm) {
  ConvOptions o;
  o.filters = 4;
  o.kernel = {3, 5};
  o.set_padding(parse_padding(std::string("same"), "Conv2D"));
  Config c = Conv2D(o).config();
  EXPECT_EQ(config_at(c, "kernel_size"), ConfigValue::tuple({3, 5}));
  EXPECT_EQ(config_at(c, "padding"), ConfigValue("same"));
  EXPECT_TRUE(config_at(c, "activation").is_none());
  BatchNormOptions b;
  b.momentum = 0.2;
  Config bc = BatchNorm2D(b).config();
  EXPECT_EQ(config_at(bc, "momentum"), ConfigValue(0.2));
  EXPECT_TRUE(config_at(bc, "num_features").is_none());
}

TEST(LayerConfig, LossRecordsItsWeightsAsLists) {
  LossOptions o;
  o.weight = full({3}, Scalar::from_float(0.5), DType::Float32);
  Config c = Loss(o).config();
  EXPECT_EQ(config_at(c, "kind"), ConfigValue("cross_entropy"));
  EXPECT_EQ(config_at(c, "weight"), ConfigValue::list({0.5, 0.5, 0.5}));
  EXPECT_TRUE(config_at(c, "pos_weight").is_none());
}

TEST(LayerConfig, LayersWithoutArgumentsRecordNothing) {
  EXPECT_TRUE(ActivationLayer("ReLU", Activation::Relu).config().empty());
  EXPECT_EQ(config_at(ActivationLayer("Softmax", Activation::Softmax, 0.01, 1).config(), "axis"), ConfigValue(1));
  EXPECT_EQ(config_at(ActivationLayer("GELU", Activation::GeluTanh).config(), "approximate"), ConfigValue("tanh"));
  EXPECT_TRUE(ElementwiseMerge(MergeOp::Add).config().empty());
  EXPECT_EQ(config_at(Concatenate(1).config(), "axis"), ConfigValue(1));
}

// ---------------------------------------------------------------- autocast

TEST(AutocastRules, DeviceTypeAndDtype) {
  EXPECT_EQ(parse_autocast_device_type("cpu"), DeviceType::CPU);
  EXPECT_EQ(parse_autocast_device_type("cuda"), DeviceType::CUDA);
  EXPECT_THROW(parse_autocast_device_type("gpu"), ValueError);
  EXPECT_EQ(default_autocast_dtype(DeviceType::CPU), DType::BFloat16);
  EXPECT_EQ(default_autocast_dtype(DeviceType::CUDA), DType::Float16);
  AutocastState bad{true, DeviceType::CPU, DType::Float32};
  EXPECT_THROW(set_autocast_state(bad), ValueError);
  EXPECT_FALSE(autocast_state().enabled);
}
