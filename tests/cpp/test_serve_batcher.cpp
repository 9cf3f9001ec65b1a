// The dynamic batcher (serve/batcher.h) and its runners (serve/runner.h): batches form up to
// max_batch_size, a batched answer equals the one-by-one answer, a lone request waits no longer
// than its queue delay, a full queue refuses at once, timeouts, failures, keys, shapes, stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "knn/flat_index.h"
#include "nn/dense.h"
#include "nn/sequential.h"
#include "nn/training.h"
#include "ops/creation.h"
#include "serve/batcher.h"
#include "serve/runner.h"

using namespace aimass;
using namespace aimass::serve;
using namespace std::chrono_literals;

namespace {

// x (rows, n) float32 -> 2x + row-invariant, with every batch's rows recorded.
struct Doubler {
  std::mutex mu;
  std::vector<int64_t> batches;
  std::chrono::milliseconds delay{0};
  std::atomic<int> running{0}, most_running{0};
  Runner runner() {
    return [this](const std::vector<Tensor>& xs, const std::string&) {
      int now = ++running;
      int seen = most_running.load();
      while (now > seen && !most_running.compare_exchange_weak(seen, now)) {}
      if (delay.count()) std::this_thread::sleep_for(delay);
      const Tensor& x = xs[0];
      Tensor y = Tensor::empty(x.shape(), DType::Float32);
      for (int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = 2 * x.data<float>()[i];
      {
        std::lock_guard<std::mutex> lock(mu);
        batches.push_back(x.size(0));
      }
      --running;
      return std::vector<Tensor>{y};
    };
  }
};

Tensor rows_of(int64_t rows, int64_t n, float start) {
  Tensor x = Tensor::empty({rows, n}, DType::Float32);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = start + float(i);
  return x;
}

struct Answer {
  std::promise<Completion> promise;
  std::future<Completion> future = promise.get_future();
  Done done() {
    return [this](Completion&& c) { promise.set_value(std::move(c)); };
  }
};

Request request_of(Tensor x, Answer& a, std::string key = "") {
  Request r;
  r.inputs = {std::move(x)};
  r.key = std::move(key);
  r.done = a.done();
  return r;
}

}  // namespace

TEST(DynamicBatcher, GathersRequestsIntoOneBatchAndSplitsTheAnswers) {
  Doubler model;
  BatcherOptions o;
  o.max_batch_size = 8;
  o.max_queue_delay_us = 200000;  // long: the batch runs because it is full, not because of the delay
  DynamicBatcher b(model.runner(), o);
  std::vector<Answer> answers(4);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(b.submit(request_of(rows_of(2, 3, 100.f * i), answers[i])), SubmitStatus::Queued);
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(answers[i].future.wait_for(2s), std::future_status::ready);
    Completion c = answers[i].future.get();
    ASSERT_EQ(c.failure, FailureKind::None) << c.error;
    ASSERT_EQ(c.outputs.size(), 1u);
    ASSERT_EQ(c.outputs[0].shape(), (Shape{2, 3}));
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(c.outputs[0].data<float>()[j], 2 * (100.f * i + j));
    EXPECT_EQ(c.batch_rows, 8);
  }
  EXPECT_EQ(model.batches, (std::vector<int64_t>{8}));
  BatcherStats s = b.stats();
  EXPECT_EQ(s.success, 4);
  EXPECT_EQ(s.inference_count, 8);
  EXPECT_EQ(s.execution_count, 1);
  EXPECT_EQ(s.pending, 0);
  EXPECT_EQ(s.batch_sizes.at(8), 1);
  ASSERT_EQ(s.batch_compute_us.count(8), 1u);  // the one batch of 8 ran for the compute time each request saw
  EXPECT_GE(s.batch_compute_us.at(8), 0);
  EXPECT_EQ(s.batch_compute_us.at(8) * 4, s.compute_us);
}

TEST(DynamicBatcher, ALoneRequestWaitsNoLongerThanItsQueueDelay) {
  Doubler model;
  BatcherOptions o;
  o.max_batch_size = 64;
  o.max_queue_delay_us = 20000;
  DynamicBatcher b(model.runner(), o);
  Answer a;
  auto start = Clock::now();
  ASSERT_EQ(b.submit(request_of(rows_of(1, 2, 0), a)), SubmitStatus::Queued);
  ASSERT_EQ(a.future.wait_for(2s), std::future_status::ready);
  auto waited = Clock::now() - start;
  Completion c = a.future.get();
  EXPECT_EQ(c.failure, FailureKind::None);
  EXPECT_GE(c.queue_us, 19000);       // it waited for company...
  EXPECT_LT(waited, 20ms + 200ms);    // ...but not much longer than the delay (a loaded machine)
}

TEST(DynamicBatcher, PreferredBatchSizeRunsAtOnce) {
  Doubler model;
  BatcherOptions o;
  o.max_batch_size = 16;
  o.preferred_batch_sizes = {4};
  o.max_queue_delay_us = 5000000;
  DynamicBatcher b(model.runner(), o);
  Answer a;
  auto start = Clock::now();
  ASSERT_EQ(b.submit(request_of(rows_of(4, 2, 0), a)), SubmitStatus::Queued);
  ASSERT_EQ(a.future.wait_for(2s), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(DynamicBatcher, AFullQueueRefusesAtOnceAndTheOthersStillComplete) {
  Doubler model;
  model.delay = 100ms;
  BatcherOptions o;
  o.max_batch_size = 1;
  o.max_queue_size = 2;
  o.max_queue_delay_us = 0;
  DynamicBatcher b(model.runner(), o);
  std::vector<Answer> answers(3);
  ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 0), answers[0])), SubmitStatus::Queued);
  std::this_thread::sleep_for(30ms);  // the first is running; two may wait
  ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 1), answers[1])), SubmitStatus::Queued);
  ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 2), answers[2])), SubmitStatus::Queued);
  Answer refused;
  EXPECT_EQ(b.submit(request_of(rows_of(1, 1, 3), refused)), SubmitStatus::QueueFull);
  for (auto& a : answers) EXPECT_EQ(a.future.get().failure, FailureKind::None);
  EXPECT_EQ(refused.future.wait_for(0ms), std::future_status::timeout);  // never answered
}

TEST(DynamicBatcher, ARequestTimesOutInTheQueue) {
  Doubler model;
  model.delay = 150ms;
  BatcherOptions o;
  o.max_batch_size = 1;
  o.max_queue_delay_us = 0;
  DynamicBatcher b(model.runner(), o);
  Answer first, late;
  ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 0), first)), SubmitStatus::Queued);
  std::this_thread::sleep_for(20ms);
  Request r = request_of(rows_of(1, 1, 1), late);
  r.timeout_us = 10000;
  ASSERT_EQ(b.submit(std::move(r)), SubmitStatus::Queued);
  Completion c = late.future.get();
  EXPECT_EQ(c.failure, FailureKind::Timeout);
  EXPECT_NE(c.error.find("timed out"), std::string::npos) << c.error;
  EXPECT_EQ(first.future.get().failure, FailureKind::None);
  EXPECT_EQ(b.stats().failure, 1);
}

TEST(DynamicBatcher, ARunnerErrorFailsItsBatchWithTheMessage) {
  Runner bad = [](const std::vector<Tensor>& xs, const std::string&) -> std::vector<Tensor> {
    throw ValueError("the model wants 4 features, got " + std::to_string(xs[0].size(1)));
  };
  DynamicBatcher b(bad, BatcherOptions{});
  Answer a;
  ASSERT_EQ(b.submit(request_of(rows_of(1, 3, 0), a)), SubmitStatus::Queued);
  Completion c = a.future.get();
  EXPECT_EQ(c.failure, FailureKind::BadInput);
  EXPECT_EQ(c.error, "the model wants 4 features, got 3");
  Runner wrong_rows = [](const std::vector<Tensor>&, const std::string&) {
    return std::vector<Tensor>{rows_of(5, 1, 0)};
  };
  DynamicBatcher b2(wrong_rows, BatcherOptions{});
  Answer a2;
  ASSERT_EQ(b2.submit(request_of(rows_of(2, 1, 0), a2)), SubmitStatus::Queued);
  Completion c2 = a2.future.get();
  EXPECT_EQ(c2.failure, FailureKind::Internal);
  EXPECT_NE(c2.error.find("not a batch of 2 rows"), std::string::npos) << c2.error;
}

TEST(DynamicBatcher, OnlyRequestsOfTheSameKeyAndRowShapeShareABatch) {
  Doubler model;
  BatcherOptions o;
  o.max_batch_size = 16;
  o.max_queue_delay_us = 50000;
  DynamicBatcher b(model.runner(), o);
  std::vector<Answer> answers(4);
  ASSERT_EQ(b.submit(request_of(rows_of(1, 2, 0), answers[0], "a")), SubmitStatus::Queued);
  ASSERT_EQ(b.submit(request_of(rows_of(1, 2, 0), answers[1], "a")), SubmitStatus::Queued);
  ASSERT_EQ(b.submit(request_of(rows_of(1, 3, 0), answers[2], "a")), SubmitStatus::Queued);  // other width
  ASSERT_EQ(b.submit(request_of(rows_of(1, 3, 0), answers[3], "b")), SubmitStatus::Queued);  // other key
  for (auto& a : answers) EXPECT_EQ(a.future.get().failure, FailureKind::None);
  EXPECT_EQ(model.batches, (std::vector<int64_t>{2, 1, 1}));
}

TEST(DynamicBatcher, InstancesRunBatchesInParallel) {
  Doubler model;
  model.delay = 100ms;
  BatcherOptions o;
  o.max_batch_size = 1;
  o.max_queue_delay_us = 0;
  o.instance_count = 2;
  DynamicBatcher b(model.runner(), o);
  std::vector<Answer> answers(4);
  auto start = Clock::now();
  for (auto& a : answers) ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 0), a)), SubmitStatus::Queued);
  for (auto& a : answers) EXPECT_EQ(a.future.get().failure, FailureKind::None);
  EXPECT_EQ(model.most_running.load(), 2);
  EXPECT_LT(Clock::now() - start, 390ms);  // 4 x 100 ms on 2 instances: about 200 ms
}

TEST(DynamicBatcher, StopDrainsOrCancelsAndRefusesNewRequests) {
  for (bool drain : {true, false}) {
    Doubler model;
    model.delay = 50ms;
    BatcherOptions o;
    o.max_batch_size = 1;
    o.max_queue_delay_us = 0;
    DynamicBatcher b(model.runner(), o);
    std::vector<Answer> answers(3);
    for (auto& a : answers) ASSERT_EQ(b.submit(request_of(rows_of(1, 1, 0), a)), SubmitStatus::Queued);
    std::this_thread::sleep_for(10ms);
    b.stop(drain);
    int ok = 0, stopped = 0;
    for (auto& a : answers) {
      ASSERT_EQ(a.future.wait_for(0ms), std::future_status::ready);  // every request answered by stop()
      FailureKind f = a.future.get().failure;
      ok += f == FailureKind::None;
      stopped += f == FailureKind::Stopped;
    }
    EXPECT_EQ(ok, drain ? 3 : 1) << "drain=" << drain;
    EXPECT_EQ(stopped, drain ? 0 : 2);
    Answer late;
    EXPECT_EQ(b.submit(request_of(rows_of(1, 1, 0), late)), SubmitStatus::Stopped);
  }
}

TEST(DynamicBatcher, RefusesWhatIsNotABatch) {
  Doubler model;
  BatcherOptions o;
  o.max_batch_size = 4;
  DynamicBatcher b(model.runner(), o);
  Answer a;
  EXPECT_THROW(b.submit(request_of(rows_of(5, 1, 0), a)), ValueError);  // more rows than max_batch_size
  Request none;
  none.done = a.done();
  EXPECT_THROW(b.submit(std::move(none)), ValueError);
  Request uneven;
  uneven.inputs = {rows_of(2, 1, 0), rows_of(3, 1, 0)};
  uneven.done = a.done();
  EXPECT_THROW(b.submit(std::move(uneven)), ValueError);
  EXPECT_THROW(b.submit(request_of(Tensor::empty({0, 3}, DType::Float32), a)), ValueError);
  o.max_batch_size = 0;
  EXPECT_THROW(DynamicBatcher(model.runner(), o), ValueError);
  o.max_batch_size = 4;
  o.preferred_batch_sizes = {8};
  EXPECT_THROW(DynamicBatcher(model.runner(), o), ValueError);
}

TEST(ServeRunners, ABatchedModelAnswerEqualsTheOneByOneAnswer) {
  nn::DenseOptions d;
  d.units = 5;
  d.activation = nn::Activation::Relu;
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{std::make_shared<nn::Dense>(d)});
  Tensor x = randn({6, 4}, DType::Float32);
  Tensor expected = nn::predict(*model, x, 1);  // one row at a time
  BatcherOptions o;
  o.max_batch_size = 6;
  o.max_queue_delay_us = 100000;
  DynamicBatcher b(module_runner(model), o);
  std::vector<Answer> answers(6);
  for (int64_t i = 0; i < 6; ++i) {
    Tensor row = Tensor::empty({1, 4}, DType::Float32);
    std::copy(x.data<float>() + 4 * i, x.data<float>() + 4 * i + 4, row.data<float>());
    ASSERT_EQ(b.submit(request_of(row, answers[i])), SubmitStatus::Queued);
  }
  for (int64_t i = 0; i < 6; ++i) {
    Completion c = answers[i].future.get();
    ASSERT_EQ(c.failure, FailureKind::None) << c.error;
    EXPECT_EQ(c.batch_rows, 6);
    for (int64_t j = 0; j < 5; ++j) EXPECT_NEAR(c.outputs[0].data<float>()[j], expected.data<float>()[5 * i + j], 1e-5);
  }
}

TEST(ServeRunners, KnnRunnerAnswersTopKWithTheKeysParameters) {
  auto index = std::make_shared<knn::FlatIndex>(2, knn::Metric::L2, Device(), DType::Float32);
  Tensor base = Tensor::empty({4, 2}, DType::Float32);
  float v[] = {0, 0, 1, 0, 2, 0, 3, 0};
  std::copy(v, v + 8, base.data<float>());
  index->add(base, Tensor());
  DynamicBatcher b(knn_runner(index, nullptr), BatcherOptions{});
  Answer a, filtered;
  Tensor q = Tensor::empty({1, 2}, DType::Float32);
  q.data<float>()[0] = 0.9f;
  q.data<float>()[1] = 0;
  ASSERT_EQ(b.submit(request_of(q, a, knn_key(2, {}, false))), SubmitStatus::Queued);
  ASSERT_EQ(b.submit(request_of(q, filtered, knn_key(1, {0, 3}, true))), SubmitStatus::Queued);
  Completion c = a.future.get();
  ASSERT_EQ(c.failure, FailureKind::None) << c.error;
  ASSERT_EQ(c.outputs[1].shape(), (Shape{1, 2}));
  EXPECT_EQ(c.outputs[1].data<int64_t>()[0], 1);
  EXPECT_EQ(c.outputs[1].data<int64_t>()[1], 0);
  EXPECT_NEAR(c.outputs[0].data<float>()[0], 0.01f, 1e-5);
  Completion f = filtered.future.get();
  ASSERT_EQ(f.failure, FailureKind::None) << f.error;
  EXPECT_EQ(f.outputs[1].data<int64_t>()[0], 0);
  EXPECT_THROW(knn_key(0, {}, false), ValueError);
}
