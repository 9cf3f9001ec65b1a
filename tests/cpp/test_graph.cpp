// The functional API's native graph (nn/graph.h), its merge layers (nn/merge.h) and Keras's
// from_logits fusion (nn/logits.h), from C++.
#include <gtest/gtest.h>

#include <memory>

#include "core/error.h"
#include "nn/activation.h"
#include "nn/dense.h"
#include "nn/graph.h"
#include "nn/logits.h"
#include "nn/merge.h"
#include "nn/sequential.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/shape.h"
#include <cmath>

using namespace aimass;
using namespace aimass::nn;

namespace {

std::shared_ptr<Dense> dense(int64_t units, int64_t in, Activation act = Activation::None) {
  DenseOptions o;
  o.units = units;
  o.in_features = in;
  o.activation = act;
  return std::make_shared<Dense>(o);
}

Tensor ramp(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  Tensor t = arange(Scalar::from_int(0), Scalar::from_int(n), Scalar::from_int(1), DType::Float32);
  return contiguous(reshape(t, shape));
}

std::vector<float> values(const Tensor& t) {
  Tensor c = contiguous(to_dtype(t, DType::Float32));
  return {c.data<float>(), c.data<float>() + c.numel()};
}

}  // namespace

TEST(GraphCpp, BranchesAndMergesRunInTopologicalOrder) {
  // x (2, 3) -> a = d1(x), b = d2(x); y = Concatenate([Add([a, b]), x])  -> (2, 7)
  auto d1 = dense(4, 3), d2 = dense(4, 3);
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> layers = {
      {"d1", d1}, {"d2", d2}, {"add", std::make_shared<ElementwiseMerge>(MergeOp::Add)},
      {"cat", std::make_shared<Concatenate>(-1)}};
  std::vector<GraphNode> nodes = {{-1, {}}, {0, {0}}, {1, {0}}, {2, {1, 2}}, {3, {3, 0}}};
  Graph g(layers, nodes, {0}, {4});
  Tensor x = ramp({2, 3});
  std::vector<float> got = values(g.forward(x));
  std::vector<float> a = values(d1->call(x)), b = values(d2->call(x)), xs = values(x);
  ASSERT_EQ(got.size(), 14u);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_FLOAT_EQ(got[r * 7 + c], a[r * 4 + c] + b[r * 4 + c]);
    for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(got[r * 7 + 4 + c], xs[r * 3 + c]);
  }
  EXPECT_EQ(g.named_parameters().front().first, "d1.weight");
}

TEST(GraphCpp, BadGraphsAndMergesAreValueErrors) {
  auto d = dense(2, 3);
  auto add = std::make_shared<ElementwiseMerge>(MergeOp::Add);
  // a node taking a later node; a dense with two inputs; a merge with one
  EXPECT_THROW(Graph({{"d", d}}, {{-1, {}}, {0, {2}}, {0, {0}}}, {0}, {2}), ValueError);
  EXPECT_THROW(Graph({{"d", d}}, {{-1, {}}, {-1, {}}, {0, {0, 1}}}, {0, 1}, {2}), ValueError);
  EXPECT_THROW(Graph({{"add", add}}, {{-1, {}}, {0, {0}}}, {0}, {1}), ValueError);
  EXPECT_THROW(Graph({{"d", d}}, {{-1, {}}, {-1, {}}, {0, {1}}}, {0}, {2}), ValueError);  // an unlisted input
  EXPECT_THROW(add->merge({ramp({2, 3}), ramp({2, 4})}), ValueError);
  EXPECT_THROW(ElementwiseMerge(MergeOp::Subtract).merge({ramp({2}), ramp({2}), ramp({2})}), ValueError);
  EXPECT_THROW(add->forward(ramp({2})), TypeError);
}

TEST(GraphCpp, FusionDropsTheFinalSoftmaxAndSharesTheWeights) {
  auto hidden = dense(4, 3, Activation::Relu), head = dense(2, 4, Activation::Softmax);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{hidden, head});
  LossOptions o;
  o.kind = LossKind::SparseCategoricalCrossentropy;
  LogitsFusion f = fuse_output_activation(model, Loss(o));
  ASSERT_TRUE(f.logits_model != nullptr);
  EXPECT_EQ(f.logits_loss->options().kind, LossKind::SparseCategoricalCrossentropyFromLogits);
  Tensor x = ramp({2, 3});
  std::vector<float> logits = values(f.logits_model->call(x)), probs = values(model->call(x));
  for (int r = 0; r < 2; ++r) {
    float e0 = std::exp(logits[r * 2]), e1 = std::exp(logits[r * 2 + 1]);
    EXPECT_NEAR(probs[r * 2], e0 / (e0 + e1), 1e-6);
  }
  EXPECT_EQ(f.logits_model->named_parameters()[0].second.impl(), hidden->parameter("weight").impl());
  // a loss without probabilities, or a model without a final softmax: nothing to fuse
  o.kind = LossKind::MSE;
  EXPECT_EQ(fuse_output_activation(model, Loss(o)).logits_model, nullptr);
  o.kind = LossKind::BinaryCrossentropy;  // wants a sigmoid
  EXPECT_EQ(fuse_output_activation(model, Loss(o)).logits_model, nullptr);
}
