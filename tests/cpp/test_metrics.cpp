// The C++ metrics API as the training loop uses it: streaming metrics over batches, and a few
// one-shot metrics on hand-computed cases (the Python suite compares against scikit-learn).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "metrics/classification.h"
#include "metrics/ranking.h"
#include "metrics/streaming.h"

using namespace aimass;

namespace {

template <typename T>
Tensor make(const std::vector<T>& values, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DTypeOf<T>::value);
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}

}  // namespace

TEST(MetricsStreaming, AccuracyOverBatchesEqualsWhole) {
  auto acc = metrics::make_streaming_metric("accuracy");
  EXPECT_EQ(acc->name(), "accuracy");
  EXPECT_TRUE(std::isnan(acc->result()));
  // logits (2, 3), labels (2,): argmax 2 (right), 0 (wrong)
  acc->update(make<float>({0.1f, 0.2f, 0.9f, 3.0f, 1.0f, 0.0f}, {2, 3}), make<int64_t>({2, 1}, {2}));
  acc->update(make<float>({0.0f, 5.0f, 1.0f}, {1, 3}), make<int64_t>({1}, {1}));
  EXPECT_DOUBLE_EQ(acc->result(), 2.0 / 3.0);
  acc->reset();
  acc->update(make<double>({-1.0, 2.0}, {2, 1}), make<int64_t>({0, 1}, {2}));  // binary logits
  EXPECT_DOUBLE_EQ(acc->result(), 1.0);
}

TEST(MetricsStreaming, TopKAndRegressionAndNames) {
  auto top2 = metrics::make_streaming_metric("top_2_accuracy");
  EXPECT_EQ(top2->name(), "top_2_accuracy");
  top2->update(make<float>({0.5f, 0.3f, 0.2f, 0.1f, 0.2f, 0.7f}, {2, 3}), make<int64_t>({1, 0}, {2}));
  EXPECT_DOUBLE_EQ(top2->result(), 0.5);
  EXPECT_EQ(metrics::make_streaming_metric("top_k_accuracy")->name(), "top_5_accuracy");
  auto mse = metrics::make_streaming_metric("mse");
  mse->update(make<float>({1.0f, 2.0f}, {2}), make<float>({0.0f, 2.0f}, {2, 1}));
  EXPECT_DOUBLE_EQ(mse->result(), 0.5);
  EXPECT_THROW(metrics::make_streaming_metric("f3"), ValueError);
  EXPECT_THROW(mse->update(make<float>({1.0f}, {1}), make<float>({1.0f, 2.0f}, {2})), ValueError);
}

TEST(MetricsOneShot, ConfusionMatrixAndAuc) {
  Tensor cm = metrics::confusion_matrix(make<int64_t>({0, 1, 1, 2}, {4}), make<int64_t>({0, 1, 2, 2}, {4}),
                                        make<int64_t>({2, 1, 0}, {3}), Tensor(), "");
  ASSERT_EQ(cm.shape(), (Shape{3, 3}));
  std::vector<double> expected = {1, 0, 0, 1, 1, 0, 0, 0, 1};  // labels in the order given: 2, 1, 0
  for (int i = 0; i < 9; ++i) EXPECT_EQ(cm.data<double>()[i], expected[i]) << i;
  EXPECT_DOUBLE_EQ(metrics::roc_auc_binary(make<double>({0, 0, 1, 1}, {4}), make<double>({0.1, 0.4, 0.35, 0.8}, {4}),
                                           Tensor()),
                   0.75);
  EXPECT_TRUE(std::isnan(metrics::roc_auc_binary(make<double>({1, 1}, {2}), make<double>({0.1, 0.4}, {2}), Tensor())));
  EXPECT_THROW(metrics::accuracy_score(make<int64_t>({0, 1}, {2}), make<int64_t>({0}, {1}), true, Tensor()),
               ValueError);
}
