// The C++ optimizer interface the native training loop uses: a loss minimised through
// Optimizer& only, schedules stepped from C++, clipping, the loss scaler, and the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "optim/grad_scaler.h"
#include "optim/lr_schedule.h"
#include "optim/optimizers.h"

using namespace aimass;
namespace ag = aimass::autograd;

namespace {

Tensor param(const Shape& shape, double value, DType dtype = DType::Float32) {
  Tensor t = full(shape, Scalar::from_float(value), dtype);
  t.impl()->requires_grad = true;
  return t;
}

// sum((w - 3)^2): its minimum is w = 3 everywhere.
void backward_quadratic(const Tensor& w) {
  Tensor d = ag::binary(BinaryOp::Sub, w, Scalar::from_float(3.0));
  Tensor loss = ag::reduce(ReduceOp::Sum, ag::binary(BinaryOp::Mul, d, d), std::nullopt, false);
  ag::backward({loss}, {Tensor()}, false);
}

double value0(const Tensor& t) { return contiguous(to_dtype(t, DType::Float64)).data<double>()[0]; }

}  // namespace

TEST(OptimCpp, EveryAlgorithmMinimisesThroughTheBaseInterface) {
  std::vector<std::pair<std::shared_ptr<optim::Optimizer>, Tensor>> cases;
  auto add = [&](auto make) {
    Tensor w = param({1000}, 0.0);
    cases.emplace_back(make(std::vector<Tensor>{w}), w);
  };
  add([](auto p) { return std::make_shared<optim::SGD>(p, 0.05, 0.9); });
  add([](auto p) { return std::make_shared<optim::Adam>(p, 0.1); });
  add([](auto p) { return std::make_shared<optim::AdamW>(p, 0.1, 0.9, 0.999, 1e-8, 0.0); });
  add([](auto p) { return std::make_shared<optim::RMSprop>(p, 0.05); });
  add([](auto p) { return std::make_shared<optim::Adagrad>(p, 0.5); });
  add([](auto p) { return std::make_shared<optim::Lion>(p, 0.01); });
  for (auto& [opt, w] : cases) {
    optim::Optimizer& o = *opt;
    for (int i = 0; i < 1000; ++i) {
      o.zero_grad();
      backward_quadratic(w);
      o.step();
    }
    EXPECT_NEAR(value0(w), 3.0, 0.05) << "optimizer " << o.name();
  }
}

TEST(OptimCpp, SchedulesAndLrFromCpp) {
  Tensor w = param({4}, 1.0);
  auto opt = std::make_shared<optim::SGD>(std::vector<Tensor>{w}, 0.1);
  optim::StepLR sched(opt, 2, 0.5);
  EXPECT_DOUBLE_EQ(opt->lr(), 0.1);
  sched.step();
  sched.step();
  EXPECT_DOUBLE_EQ(opt->lr(), 0.05);
  opt->set_lr(1.0);
  EXPECT_EQ(opt->num_groups(), 1u);
  EXPECT_EQ(opt->params(0).size(), 1u);
  EXPECT_DOUBLE_EQ(opt->lr(0), 1.0);
  EXPECT_THROW(opt->set_lr(-1.0), ValueError);
  EXPECT_THROW(opt->params(3), IndexError);
}

TEST(OptimCpp, ClipGradNormAndValue) {
  Tensor a = param({2}, 0.0, DType::Float64);
  ag::meta(a).grad = full({2}, Scalar::from_float(3.0), DType::Float64);  // norm 3 sqrt 2
  double norm = optim::clip_grad_norm_({a}, 1.0);
  EXPECT_NEAR(norm, 3.0 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(value0(ag::meta(a).grad), 1.0 / std::sqrt(2.0), 1e-6);
  ag::meta(a).grad = full({2}, Scalar::from_float(-3.0), DType::Float64);
  optim::clip_grad_value_({a}, 0.5);
  EXPECT_DOUBLE_EQ(value0(ag::meta(a).grad), -0.5);
}

TEST(OptimCpp, GradScalerSkipsInf) {
  Tensor w = param({3}, 1.0);
  optim::SGD opt({w}, 0.1);
  optim::GradScaler scaler(8.0);
  ag::meta(w).grad = full({3}, Scalar::from_float(INFINITY), DType::Float32);
  EXPECT_FALSE(scaler.step(opt));
  scaler.update();
  EXPECT_DOUBLE_EQ(scaler.scale(), 4.0);
  EXPECT_DOUBLE_EQ(value0(w), 1.0);
  ag::meta(w).grad = full({3}, Scalar::from_float(4.0), DType::Float32);
  EXPECT_TRUE(scaler.step(opt));
  EXPECT_NEAR(value0(w), 0.9, 1e-7);
  EXPECT_THROW(scaler.step(opt), RuntimeError);
}

TEST(OptimCpp, Errors) {
  EXPECT_THROW(optim::SGD({}, 0.1), ValueError);
  EXPECT_THROW(optim::Adam({param({2}, 0.0)}, -1.0), ValueError);
  EXPECT_THROW(optim::Adam({param({2}, 0.0)}, 1e-3, 1.0), ValueError);
  Tensor ints = full({2}, Scalar::from_int(1), DType::Int64);
  EXPECT_THROW(optim::SGD({ints}, 0.1), TypeError);
}
