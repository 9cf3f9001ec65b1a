// The array loader's prefetch thread: destroyed or restarted mid-epoch it stops (no hang), and
// its batches equal the synchronous loader's for one seed.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <vector>

#include <algorithm>

#include "core/error.h"
#include "core/philox.h"
#include "data/batch_source.h"
#include "ops/creation.h"

using namespace aimass;

namespace {

Tensor rows(int64_t n) { return arange(Scalar::from_int(0), Scalar::from_int(n * 4), Scalar::from_int(1), DType::Float32).as_strided({n, 4}, {4, 1}, 0); }
Tensor ids(int64_t n) { return arange(Scalar::from_int(0), Scalar::from_int(n), Scalar::from_int(1), DType::Int64); }

std::vector<int64_t> epoch_ids(data::BatchSource& s) {
  std::vector<int64_t> out;
  Tensor x, y;
  s.start_epoch();
  while (s.next(x, y))
    for (int64_t i = 0; i < y.numel(); ++i) {
      EXPECT_EQ(x.data<float>()[i * 4], float(y.data<int64_t>()[i] * 4));  // x rows travel with y
      out.push_back(y.data<int64_t>()[i]);
    }
  return out;
}

// Runs f on another thread; fails instead of hanging the suite.
template <typename F>
void within_seconds(int seconds, F f) {
  auto done = std::async(std::launch::async, f);
  ASSERT_EQ(done.wait_for(std::chrono::seconds(seconds)), std::future_status::ready) << "hang";
  done.get();
}

}  // namespace

TEST(DataLoader, PrefetchMatchesSynchronous) {
  data::LoaderOptions o;
  o.batch_size = 7;
  for (int64_t prefetch : {0, 1, 4}) {
    o.prefetch = prefetch;
    manual_seed(42);
    auto s = data::make_array_loader(rows(100), ids(100), o);
    auto e1 = epoch_ids(*s), e2 = epoch_ids(*s);
    manual_seed(42);
    o.prefetch = 0;
    auto r = data::make_array_loader(rows(100), ids(100), o);
    EXPECT_EQ(e1, epoch_ids(*r));
    EXPECT_EQ(e2, epoch_ids(*r));
    EXPECT_NE(e1, e2);
    EXPECT_EQ(e1.size(), 100u);
  }
}

TEST(DataLoader, DestroyedMidEpochStops) {
  within_seconds(30, [] {
    data::LoaderOptions o;
    o.batch_size = 3;
    o.prefetch = 2;
    for (int i = 0; i < 200; ++i) {
      auto s = data::make_array_loader(rows(300), ids(300), o);
      s->start_epoch();
      Tensor x, y;
      if (i % 2) s->next(x, y);
    }  // the worker waits for queue space when s goes
  });
}

TEST(DataLoader, RestartMidEpoch) {
  within_seconds(30, [] {
    data::LoaderOptions o;
    o.batch_size = 10;
    o.prefetch = 3;
    auto s = data::make_array_loader(rows(200), ids(200), o);
    Tensor x, y;
    for (int i = 0; i < 50; ++i) {
      s->start_epoch();
      for (int k = 0; k < i % 5; ++k) ASSERT_TRUE(s->next(x, y));
    }
    auto e = epoch_ids(*s);
    std::sort(e.begin(), e.end());
    for (int64_t i = 0; i < 200; ++i) ASSERT_EQ(e[size_t(i)], i);
    EXPECT_FALSE(s->next(x, y));  // after the epoch, until start_epoch
    EXPECT_EQ(s->num_batches(), 20);
    EXPECT_EQ(s->num_samples(), 200);
  });
}

TEST(DataLoader, BadOptionsThrow) {
  data::LoaderOptions o;
  o.batch_size = 0;
  EXPECT_THROW(data::make_array_loader(rows(4), ids(4), o), ValueError);
  o.batch_size = 2;
  EXPECT_THROW(data::make_array_loader(rows(4), ids(3), o), ValueError);
  o.random_flip = true;
  EXPECT_THROW(data::make_array_loader(rows(4), ids(4), o), ValueError);  // not images
}
