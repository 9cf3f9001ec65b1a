// Pruning masks (quant/prune.h) and the training loop that keeps them (nn/training.cpp).
#include <gtest/gtest.h>

#include <memory>

#include "core/error.h"
#include "data/batch_source.h"
#include "nn/dense.h"
#include "nn/loss.h"
#include "nn/sequential.h"
#include "nn/training.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/shape.h"
#include "optim/optimizers.h"
#include "quant/prune.h"

using namespace aimass;
using namespace aimass::nn;

namespace {

std::shared_ptr<Dense> dense(int64_t units, int64_t in) {
  DenseOptions o;
  o.units = units;
  o.in_features = in;
  return std::make_shared<Dense>(o);
}

std::vector<float> values(const Tensor& t) {
  Tensor c = contiguous(to_dtype(t, DType::Float32));
  return {c.data<float>(), c.data<float>() + c.numel()};
}

// 0/1 of shape (rows, cols): entry i is kept when i % 2 == 0.
Tensor checkerboard(int64_t rows, int64_t cols) {
  Tensor m = full({rows, cols}, Scalar::from_int(0), DType::Float32);
  float* p = m.data<float>();
  for (int64_t i = 0; i < rows * cols; ++i) p[i] = i % 2 == 0 ? 1.f : 0.f;
  return m;
}

}  // namespace

TEST(QuantPrune, MaskedParametersFindTheMaskBesideItsParameter) {
  auto d0 = dense(4, 3), d1 = dense(2, 4);
  Sequential model({d0, d1});
  EXPECT_TRUE(quant::masked_parameters(model).empty());
  d1->register_buffer("weight_mask", checkerboard(2, 4));
  d1->register_buffer("other_mask", checkerboard(1, 1));  // no parameter "other": not a pruning mask
  auto masked = quant::masked_parameters(model);
  ASSERT_EQ(masked.size(), 1u);
  EXPECT_EQ(masked[0].name, "1.weight");
  EXPECT_EQ(masked[0].param.impl(), d1->parameter("weight").impl());

  quant::apply_masks(masked);
  auto w = values(d1->parameter("weight"));
  for (size_t i = 0; i < w.size(); ++i)
    if (i % 2) EXPECT_EQ(w[i], 0.f) << i;

  EXPECT_TRUE(d1->remove_buffer("weight_mask"));
  EXPECT_FALSE(d1->remove_buffer("weight_mask"));
  EXPECT_TRUE(quant::masked_parameters(model).empty());
}

TEST(QuantPrune, AMaskOfTheWrongShapeIsAValueError) {
  auto d = dense(2, 4);
  d->register_buffer("weight_mask", checkerboard(4, 2));
  try {
    quant::masked_parameters(*d);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("weight_mask"), std::string::npos) << e.what();
  }
}

TEST(QuantPrune, TrainEpochKeepsPrunedWeightsAtZero) {
  auto d0 = dense(8, 4), d1 = dense(3, 8);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{d0, d1});
  d0->register_buffer("weight_mask", checkerboard(8, 4));
  quant::apply_masks(quant::masked_parameters(*model));
  const auto before = values(d0->parameter("weight"));

  Tensor x = randn({64, 4}, DType::Float32);
  Tensor y = full({64}, Scalar::from_int(0), DType::Int64);
  for (int64_t i = 0; i < 64; ++i) y.data<int64_t>()[i] = i % 3;
  data::LoaderOptions lo;
  lo.batch_size = 16;
  auto batches = data::make_array_loader(x, y, lo);
  std::vector<Tensor> params;
  for (auto& [name, p] : model->named_parameters()) params.push_back(p);
  optim::SGD sgd(params, 0.5, 0.9);  // momentum: the step moves pruned entries, the mask puts them back
  LossOptions lopt;
  Loss loss(lopt);
  for (int epoch = 0; epoch < 2; ++epoch) train_epoch(*model, loss, sgd, {}, *batches, 0.0, {});

  const auto after = values(d0->parameter("weight"));
  int changed = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    if (i % 2) EXPECT_EQ(after[i], 0.f) << "pruned entry " << i << " moved";
    else changed += after[i] != before[i];
  }
  EXPECT_GT(changed, 0) << "the kept weights were trained";
}
