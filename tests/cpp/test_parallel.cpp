// The thread pool: every index visited once, exceptions reach the caller, small ranges inline.
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

using namespace aimass;

TEST(Parallel, VisitsEveryIndexOnce) {
  set_num_threads(4);
  std::vector<std::atomic<int>> seen(100000);
  parallel_for(0, 100000, 1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) seen[i]++;
  });
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
  set_num_threads(0);
}

TEST(Parallel, SmallRangesRunOnTheCaller) {
  set_num_threads(4);
  std::thread::id caller = std::this_thread::get_id(), ran;
  parallel_for(0, 10, 1000, [&](int64_t, int64_t) { ran = std::this_thread::get_id(); });
  EXPECT_EQ(ran, caller);
  set_num_threads(0);
}

TEST(Parallel, ExceptionsPropagate) {
  set_num_threads(3);
  EXPECT_THROW(parallel_for(0, 30000, 100, [](int64_t b, int64_t) {
                 if (b > 0) throw ValueError("boom");
               }),
               ValueError);
  set_num_threads(0);
}

TEST(Parallel, NestedCallsDoNotDeadlock) {
  set_num_threads(2);
  std::atomic<int64_t> total{0};
  parallel_for(0, 4, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) parallel_for(0, 1000, 10, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 4000);
  set_num_threads(0);
}

TEST(Parallel, ThreadCountHasASaneMaximum) {
  EXPECT_GE(max_threads(), kMinThreadLimit);
  EXPECT_THROW(set_num_threads(max_threads() + 1), ValueError);
  EXPECT_THROW(set_num_threads(std::numeric_limits<int>::max()), ValueError);
  set_num_threads(max_threads());  // the maximum itself still runs work
  std::atomic<int64_t> sum{0};
  parallel_for(0, 100000, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 100000);
  set_num_threads(0);
}
