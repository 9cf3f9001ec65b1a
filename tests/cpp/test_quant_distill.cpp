// Knowledge distillation's pair module, loss and student metric (quant/distill.h).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/node.h"
#include "core/error.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/sequential.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/index.h"
#include "ops/shape.h"
#include "quant/distill.h"

using namespace aimass;
using namespace aimass::nn;

namespace {

std::shared_ptr<Dense> dense(int64_t units, int64_t in) {
  DenseOptions o;
  o.units = units;
  o.in_features = in;
  return std::make_shared<Dense>(o);
}

std::vector<double> values(const Tensor& t) {
  Tensor c = contiguous(to_dtype(t, DType::Float64));
  return {c.data<double>(), c.data<double>() + c.numel()};
}

Tensor labels(std::vector<int64_t> ids) {
  Tensor y = full({int64_t(ids.size())}, Scalar::from_int(0), DType::Int64);
  std::copy(ids.begin(), ids.end(), y.data<int64_t>());
  return y;
}

// The loss written out for one row set: T^2 KL(p_t || p_s) and CE, means over rows.
double reference_loss(const std::vector<double>& s, const std::vector<double>& t, const std::vector<int64_t>& y,
                      int64_t C, double T, double alpha) {
  const int64_t N = int64_t(y.size());
  double kd = 0, ce = 0;
  for (int64_t r = 0; r < N; ++r) {
    auto log_softmax = [&](const std::vector<double>& v, double scale, std::vector<double>& out) {
      double mx = -1e300, sum = 0;
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, v[r * C + c] * scale);
      for (int64_t c = 0; c < C; ++c) sum += std::exp(v[r * C + c] * scale - mx);
      out.resize(C);
      for (int64_t c = 0; c < C; ++c) out[c] = v[r * C + c] * scale - mx - std::log(sum);
    };
    std::vector<double> lp, lq, l1;
    log_softmax(t, 1 / T, lp);
    log_softmax(s, 1 / T, lq);
    log_softmax(s, 1, l1);
    for (int64_t c = 0; c < C; ++c) kd += std::exp(lp[c]) * (lp[c] - lq[c]);
    ce -= l1[y[r]];
  }
  return alpha * T * T * kd / N + (1 - alpha) * ce / N;
}

}  // namespace

TEST(QuantDistill, PairPacksTheStudentsLogitsAndTheTeachersWithoutGradient) {
  auto student = dense(3, 4), teacher = dense(3, 4);
  quant::DistillationPair pair(student, teacher);
  Tensor x = randn({5, 4}, DType::Float32);
  Tensor packed = pair.call(x);
  ASSERT_EQ(packed.shape(), (Shape{5, 6}));
  EXPECT_TRUE(autograd::requires_grad(packed));
  auto p = values(packed), s = values(student->call(x)), t = values(teacher->call(x));
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(p[r * 6 + c], s[r * 3 + c], 1e-6);
      EXPECT_NEAR(p[r * 6 + 3 + c], t[r * 3 + c], 1e-6);
    }

  quant::DistillationLoss loss(2.0, 0.5);
  Tensor value = loss.compute(packed, labels({0, 1, 2, 0, 1}));
  autograd::backward({value}, {Tensor()}, false);
  EXPECT_TRUE(autograd::meta(student->parameter("weight")).grad.defined());
  EXPECT_FALSE(autograd::meta(teacher->parameter("weight")).grad.defined()) << "the teacher is frozen";
}

TEST(QuantDistill, TheTeacherRunsInEvalModeWhileTheStudentTrains) {
  // A teacher with dropout: in eval mode it is deterministic, so two calls give one output.
  auto teacher = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{dense(3, 4),
                                                                                   std::make_shared<Dropout>(0.5)});
  quant::DistillationPair pair(dense(3, 4), teacher);
  pair.train(true);
  Tensor x = randn({16, 4}, DType::Float32);
  auto a = values(pair.call(x)), b = values(pair.call(x));
  for (int64_t r = 0; r < 16; ++r)
    for (int64_t c = 3; c < 6; ++c) EXPECT_EQ(a[r * 6 + c], b[r * 6 + c]);
  EXPECT_TRUE(teacher->training()) << "the teacher's own flag is left as it was";
}

TEST(QuantDistill, LossMatchesItsFormula) {
  const int64_t N = 4, C = 5;
  Tensor packed = randn({N, 2 * C}, DType::Float64);
  std::vector<int64_t> y = {0, 3, 4, 1};
  auto v = values(packed);
  std::vector<double> s, t;
  for (int64_t r = 0; r < N; ++r)
    for (int64_t c = 0; c < 2 * C; ++c) (c < C ? s : t).push_back(v[r * 2 * C + c]);
  for (double alpha : {0.0, 0.3, 1.0}) {
    quant::DistillationLoss loss(3.0, alpha);
    EXPECT_NEAR(values(loss.compute(packed, labels(y)))[0], reference_loss(s, t, y, C, 3.0, alpha), 1e-10) << alpha;
  }
  EXPECT_THROW(quant::DistillationLoss(1.0, 1.5), ValueError);
  EXPECT_THROW(quant::DistillationLoss(0.0, 0.5), ValueError);
  quant::DistillationLoss loss(1.0, 0.5);
  EXPECT_THROW(loss.compute(randn({N, 5}, DType::Float32), labels(y)), ValueError);  // odd: not packed
}

TEST(QuantDistill, StudentMetricReadsTheStudentsHalf) {
  // Row r's student logits point at class r; the teacher's at class 0.
  Tensor packed = full({3, 6}, Scalar::from_int(0), DType::Float32);
  float* p = packed.data<float>();
  for (int64_t r = 0; r < 3; ++r) p[r * 6 + r] = 5.f, p[r * 6 + 3] = 9.f;
  quant::StudentMetric acc("accuracy");
  acc.update(packed, labels({0, 1, 2}));
  EXPECT_EQ(acc.name(), "accuracy");
  EXPECT_DOUBLE_EQ(acc.result(), 1.0);
}
