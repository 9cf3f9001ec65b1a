// k-NN indexes used from many threads (knn/index.h, "Threads"): searches run while another
// thread adds, removes and resets; every result a reader sees is that of some whole state of
// the index (ids of stored rows or -1, scores sorted), never a torn one, and once the writer
// stops the results equal a serial search.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "knn/flat_index.h"
#include "knn/ivf_index.h"

using namespace aimass;

namespace {

constexpr int64_t kDim = 8;

// (n, kDim) float32 Gaussian rows from the seed.
Tensor random_rows(int64_t n, uint32_t seed) {
  Tensor t = Tensor::empty({n, kDim}, DType::Float32);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < n * kDim; ++i) t.data<float>()[i] = normal(rng);
  return t;
}

// Every id in [0, max_id) or -1 (unfilled); squared L2 ascending along each row.
bool valid_result(const KnnResult& r, int64_t max_id) {
  const int64_t nq = r.ids.shape()[0], k = r.ids.shape()[1];
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const int64_t id = r.ids.data<int64_t>()[i * k + j];
      if (id < -1 || id >= max_id) return false;
      if (j > 0 && r.distances.data<float>()[i * k + j] < r.distances.data<float>()[i * k + j - 1]) return false;
    }
  return true;
}

// Readers search `index` while the writer runs `write` round after round; returns how many
// searches saw an invalid result (a crash fails the whole test binary).
int64_t search_while_writing(const knn::Index& index, const Tensor& queries, int64_t max_id,
                             const std::function<void(int)>& write, int rounds) {
  std::atomic<bool> done{false};
  std::atomic<int64_t> invalid{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      while (!done.load()) {
        try {
          if (!valid_result(index.search(queries, 5, knn::Filter()), max_id)) ++invalid;
        } catch (const ValueError&) {
          // k > ntotal while the writer has just reset the index: a clear error, not a crash
        }
        ++searches;
      }
    });
  // On a loaded machine the readers may not have run at all before the writer is done: wait for
  // them to be searching, and let at least one search complete between rounds, so every round
  // overlaps searches however the threads are scheduled (bounded waits: a stuck reader fails the
  // EXPECT below instead of hanging the test).
  auto wait_for_searches = [&](int64_t at_least) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (searches.load() < at_least && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  };
  try {
    wait_for_searches(4);
    for (int round = 0; round < rounds; ++round) {
      const int64_t before = searches.load();
      write(round);
      wait_for_searches(before + 1);
    }
  } catch (...) {
    done = true;
    for (auto& r : readers) r.join();
    throw;
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_GT(searches.load(), 0);
  return invalid.load();
}

}  // namespace

TEST(KnnThreads, FlatSearchesWhileAnotherThreadResetsAndAdds) {
  knn::FlatIndex index(kDim, knn::Metric::L2);
  const Tensor base = random_rows(200, 1), queries = random_rows(16, 2);
  index.add(base, Tensor());
  const int64_t invalid = search_while_writing(index, queries, 200, [&](int round) {
    index.reset();
    index.add(random_rows(50, 10 + round), Tensor());
    index.add(random_rows(150, 100 + round), Tensor());  // ids 50 .. 199
  }, 30);
  EXPECT_EQ(invalid, 0);
  index.reset();
  index.add(base, Tensor());
  knn::FlatIndex serial(kDim, knn::Metric::L2);
  serial.add(base, Tensor());
  KnnResult a = index.search(queries, 5, knn::Filter()), b = serial.search(queries, 5, knn::Filter());
  for (int64_t i = 0; i < a.ids.numel(); ++i) EXPECT_EQ(a.ids.data<int64_t>()[i], b.ids.data<int64_t>()[i]);
}

TEST(KnnThreads, IvfSearchesWhileAnotherThreadAddsAndRemoves) {
  knn::IVFFlatIndex index(kDim, 4, knn::Metric::L2);
  const Tensor base = random_rows(400, 3), queries = random_rows(16, 4);
  index.train(base);
  index.add(base, Tensor());
  index.set_nprobe(4);
  int64_t next_id = 400;
  const int64_t invalid = search_while_writing(index, queries, 400 + 30 * 20, [&](int round) {
    Tensor ids = Tensor::empty({20}, DType::Int64);
    for (int64_t i = 0; i < 20; ++i) ids.data<int64_t>()[i] = next_id + i;
    index.add(random_rows(20, 1000 + round), ids);
    Tensor gone = Tensor::empty({10}, DType::Int64);
    for (int64_t i = 0; i < 10; ++i) gone.data<int64_t>()[i] = next_id + 2 * i;
    EXPECT_EQ(index.remove(gone), 10);
    next_id += 20;
    index.set_nprobe(1 + round % 4);
  }, 30);
  EXPECT_EQ(invalid, 0);
  // Back to the base rows: the same results as a fresh index over them.
  index.reset();
  index.add(base, Tensor());
  index.set_nprobe(4);
  knn::IVFFlatIndex serial(kDim, 4, knn::Metric::L2);
  serial.train(base);
  serial.add(base, Tensor());
  serial.set_nprobe(4);
  KnnResult a = index.search(queries, 5, knn::Filter()), b = serial.search(queries, 5, knn::Filter());
  for (int64_t i = 0; i < a.ids.numel(); ++i) EXPECT_EQ(a.ids.data<int64_t>()[i], b.ids.data<int64_t>()[i]);
}

TEST(KnnThreads, ManyConcurrentSearchesEqualSerialOnes) {
  knn::FlatIndex index(kDim, knn::Metric::InnerProduct);
  index.add(random_rows(300, 5), Tensor());
  const Tensor queries = random_rows(8, 6);
  const KnnResult want = index.search(queries, 7, knn::Filter());
  std::atomic<int64_t> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep) {
        KnnResult got = index.search(queries, 7, knn::Filter());
        for (int64_t i = 0; i < got.ids.numel(); ++i)
          if (got.ids.data<int64_t>()[i] != want.ids.data<int64_t>()[i]) ++mismatches;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}
