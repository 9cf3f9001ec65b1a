// Autograd: every differentiable op's backward against central finite differences in
// float64, broadcasting included; graph bookkeeping and its errors.
#include <gtest/gtest.h>

#include <functional>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"
#include "core/philox.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/nn.h"
#include "ops/reduce.h"

using namespace aimass;
namespace ag = aimass::autograd;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor leaf(const Shape& shape, double lo = -1.5, double hi = 1.5) {
  Tensor t = uniform(shape, lo, hi, DType::Float64);
  t.impl()->requires_grad = true;
  return t;
}

// Loss = sum(f(inputs) * w) for fixed random w, so every output element matters.
double loss_of(const Fn& f, const std::vector<Tensor>& inputs, const Tensor& w) {
  ag::GradModeGuard off(false);
  return item(reduce(ReduceOp::Sum, binary(BinaryOp::Mul, f(inputs), w), std::nullopt, false)).f;
}

void gradcheck(const Fn& f, std::vector<Tensor> inputs, double tol = 1e-6) {
  Tensor out = f(inputs);
  Tensor w = uniform(out.shape(), 0.5, 1.5, DType::Float64);
  for (Tensor& x : inputs) ag::meta(x).grad = Tensor();
  ag::backward({ag::reduce(ReduceOp::Sum, ag::binary(BinaryOp::Mul, out, w), std::nullopt, false)}, {Tensor()}, false);
  const double eps = 1e-6;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.impl()->requires_grad) continue;
    Tensor analytic = ag::meta(x).grad;
    ASSERT_TRUE(analytic.defined()) << "no gradient for input " << i;
    ASSERT_EQ(analytic.shape(), x.shape());
    double* data = x.data<double>();
    for (int64_t k = 0; k < x.numel(); ++k) {
      double saved = data[k];
      data[k] = saved + eps;
      double up = loss_of(f, inputs, w);
      data[k] = saved - eps;
      double down = loss_of(f, inputs, w);
      data[k] = saved;
      double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic.data<double>()[k], numeric, tol * std::max(1.0, std::abs(numeric)))
          << "input " << i << " element " << k;
    }
  }
}

}  // namespace

TEST(Autograd, UnaryOps) {
  manual_seed(10);
  for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Relu,
                     UnaryOp::Square, UnaryOp::Sin, UnaryOp::Cos}) {
    SCOPED_TRACE(unary_name(op));
    gradcheck([op](const std::vector<Tensor>& in) { return ag::unary(op, in[0]); }, {leaf({3, 4})});
  }
  for (UnaryOp op : {UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Reciprocal, UnaryOp::Rsqrt}) {
    SCOPED_TRACE(unary_name(op));
    gradcheck([op](const std::vector<Tensor>& in) { return ag::unary(op, in[0]); }, {leaf({5}, 0.5, 2.0)});
  }
}

TEST(Autograd, BinaryOpsWithBroadcasting) {
  manual_seed(11);
  for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Maximum, BinaryOp::Minimum}) {
    SCOPED_TRACE(binary_name(op));
    Tensor b = op == BinaryOp::Div ? leaf({4}, 0.5, 2.0) : leaf({4});
    gradcheck([op](const std::vector<Tensor>& in) { return ag::binary(op, in[0], in[1]); }, {leaf({3, 1, 4}), b});
  }
  gradcheck([](const std::vector<Tensor>& in) { return ag::binary(BinaryOp::Pow, in[0], in[1]); },
            {leaf({2, 3}, 0.5, 2.0), leaf({3}, -1.0, 2.0)});
  gradcheck([](const std::vector<Tensor>& in) { return ag::binary(BinaryOp::Mul, in[0], Scalar::from_float(3.0)); },
            {leaf({2, 2})});
}

TEST(Autograd, ReductionsOverAxes) {
  manual_seed(12);
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Var, ReduceOp::Prod}) {
    SCOPED_TRACE(reduce_name(op));
    gradcheck([op](const std::vector<Tensor>& in) { return ag::reduce(op, in[0], std::vector<int64_t>{0, 2}, false, 1); },
              {leaf({3, 2, 4}, 0.5, 2.0)});
    gradcheck([op](const std::vector<Tensor>& in) { return ag::reduce(op, in[0], std::nullopt, true); }, {leaf({2, 3}, 0.5, 2.0)});
  }
}

TEST(Autograd, MatmulShapes) {
  manual_seed(13);
  auto mm = [](const std::vector<Tensor>& in) { return ag::matmul(in[0], in[1]); };
  gradcheck(mm, {leaf({3, 4}), leaf({4, 2})});
  gradcheck(mm, {leaf({2, 1, 3, 4}), leaf({5, 4, 2})});  // broadcast batch
  gradcheck(mm, {leaf({4}), leaf({4, 3})});
  gradcheck(mm, {leaf({2, 3, 4}), leaf({4})});
  gradcheck(mm, {leaf({4}), leaf({4})});
}

TEST(Autograd, ShapeOpsWhereClampConcat) {
  manual_seed(14);
  gradcheck([](const std::vector<Tensor>& in) { return ag::reshape(ag::permute(in[0], {2, 0, 1}), {4, -1}); }, {leaf({2, 3, 4})});
  gradcheck([](const std::vector<Tensor>& in) { return ag::expand(in[0], {3, 2, 4}); }, {leaf({2, 1})});
  gradcheck([](const std::vector<Tensor>& in) {
    return ag::where(binary(BinaryOp::Gt, in[0], Scalar::from_float(0)), in[0], in[1]);
  }, {leaf({3, 3}), leaf({3})});
  gradcheck([](const std::vector<Tensor>& in) { return ag::clamp(in[0], Scalar::from_float(-0.5), Scalar::from_float(0.7)); },
            {leaf({10})});
  gradcheck([](const std::vector<Tensor>& in) { return ag::concatenate({in[0], in[1]}, 1); }, {leaf({2, 3}), leaf({2, 1})});
  gradcheck([](const std::vector<Tensor>& in) { return ag::stack({in[0], in[1]}, 0); }, {leaf({2, 3}), leaf({2, 3})});
  gradcheck([](const std::vector<Tensor>& in) {
    return ag::index(in[0], {TensorIndex::slice(1, std::nullopt, std::nullopt), TensorIndex::integer(-1)});
  }, {leaf({4, 3})});
  Tensor picks = arange(Scalar::from_int(0), Scalar::from_int(6), Scalar::from_int(1), DType::Int64);
  picks = binary(BinaryOp::Remainder, picks, Scalar::from_int(2));  // [0, 1, 0, 1, 0, 1]: repeated rows
  gradcheck([picks](const std::vector<Tensor>& in) { return ag::index(in[0], {TensorIndex::of(picks)}); }, {leaf({3, 2})});
  gradcheck([](const std::vector<Tensor>& in) {
    return ag::index(in[0], {TensorIndex::slice(std::nullopt, std::nullopt, -1), TensorIndex::integer(1)});
  }, {leaf({4, 3})});
}

TEST(Autograd, SoftmaxAndLogSoftmaxAlongAnyAxis) {
  manual_seed(15);
  for (bool log : {false, true})
    for (int64_t axis : {-1, 0, 1}) {
      SCOPED_TRACE(str_cat(log ? "log_softmax" : "softmax", " axis ", axis));
      gradcheck([log, axis](const std::vector<Tensor>& in) { return ag::softmax(in[0], axis, log); }, {leaf({3, 4, 2}, -3, 3)});
    }
}

TEST(Autograd, CrossEntropyHardAndSoftTargetsEveryOption) {
  manual_seed(16);
  const int64_t N = 5, C = 4;
  Tensor hard = Tensor::empty({N}, DType::Int64);
  const int64_t classes[N] = {0, 3, -100, 1, 3};  // one ignored row (the default ignore_index)
  std::copy(classes, classes + N, hard.data<int64_t>());
  Tensor soft = softmax(uniform({N, C}, -2, 2, DType::Float64), -1, false);
  Tensor weight = uniform({C}, 0.5, 2.0, DType::Float64);
  for (Reduction reduction : {Reduction::None, Reduction::Mean, Reduction::Sum})
    for (double eps : {0.0, 0.3})
      for (bool weighted : {false, true})
        for (bool is_soft : {false, true}) {
          SCOPED_TRACE(str_cat("reduction ", int(reduction), " eps ", eps, " weighted ", weighted, " soft ", is_soft));
          Tensor target = is_soft ? soft : hard;
          Tensor w = weighted ? weight : Tensor();
          gradcheck([=](const std::vector<Tensor>& in) {
            return ag::cross_entropy(in[0], target, w, -100, reduction, eps);
          }, {leaf({N, C}, -3, 3)});
        }
  // A single sample: (C,) logits with a 0-d class index, and a custom ignore_index.
  Tensor one = Tensor::empty({}, DType::Int64);
  *one.data<int64_t>() = 2;
  for (Reduction reduction : {Reduction::None, Reduction::Mean})
    gradcheck([=](const std::vector<Tensor>& in) {
      return ag::cross_entropy(in[0], one, weight, 0, reduction, 0.1);
    }, {leaf({C}, -3, 3)});
}

TEST(Autograd, GradientsAccumulateAndSharedInputsSum) {
  Tensor x = leaf({3});
  Tensor y = ag::binary(BinaryOp::Mul, x, x);  // x used twice: dy/dx = 2x
  ag::backward({ag::reduce(ReduceOp::Sum, y, std::nullopt, false)}, {Tensor()}, true);
  Tensor g1 = clone(ag::meta(x).grad);
  ag::backward({ag::reduce(ReduceOp::Sum, y, std::nullopt, false)}, {Tensor()}, false);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(g1.data<double>()[i], 2 * x.data<double>()[i], 1e-12);
    EXPECT_NEAR(ag::meta(x).grad.data<double>()[i], 4 * x.data<double>()[i], 1e-12);
  }
}

TEST(Autograd, ClearErrors) {
  Tensor x = leaf({3});
  Tensor y = ag::unary(UnaryOp::Exp, x);
  Tensor s = ag::reduce(ReduceOp::Sum, y, std::nullopt, false);
  EXPECT_THROW(ag::backward({y}, {Tensor()}, false), RuntimeError);  // non-scalar without a gradient
  ag::backward({s}, {Tensor()}, false);
  EXPECT_THROW(ag::backward({s}, {Tensor()}, false), RuntimeError);  // saved result freed
  Tensor z = ag::unary(UnaryOp::Exp, x);
  Tensor t = ag::reduce(ReduceOp::Sum, z, std::nullopt, false);
  fill_(z, Scalar::from_int(0));  // in-place change of a tensor saved for backward
  EXPECT_THROW(ag::backward({t}, {Tensor()}, false), RuntimeError);
  Tensor plain = full({2}, Scalar::from_int(1), DType::Float64);
  EXPECT_THROW(ag::backward({ag::reduce(ReduceOp::Sum, plain, std::nullopt, false)}, {Tensor()}, false), RuntimeError);
  {
    ag::GradModeGuard off(false);
    Tensor n = ag::unary(UnaryOp::Exp, x);
    EXPECT_FALSE(n.impl()->requires_grad);
  }
}
