// The CUDA k-NN selection engines (ops/cuda/knn_select.cuh) run on the host: one std::thread
// per CUDA thread, std::barrier for __syncthreads, std::atomic_ref for the shared atomics. The
// same code the GPU runs is checked against a sort of every candidate by (key, id).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "ops/cuda/knn_select.cuh"

namespace {

using namespace aimass::gpu::knn;

struct HostBlock {
  int t, n;
  std::barrier<>* bar;
  int tid() const { return t; }
  int size() const { return n; }
  void sync() const { bar->arrive_and_wait(); }
  unsigned add(unsigned* p, unsigned v) const { return std::atomic_ref<unsigned>(*p).fetch_add(v); }
  unsigned long long add64(unsigned long long* p, unsigned long long v) const {
    return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
  }
  template <typename T>
  static void atomic_max(T* p, T v) {
    std::atomic_ref<T> r(*p);
    T cur = r.load();
    while (cur < v && !r.compare_exchange_weak(cur, v)) {
    }
  }
  void max_u32(unsigned* p, unsigned v) const { atomic_max(p, v); }
  void max_u64(unsigned long long* p, unsigned long long v) const { atomic_max(p, v); }
};

template <class F>
void run_block(int threads, F body) {
  std::barrier<> bar(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { body(HostBlock{t, threads, &bar}); });
  for (auto& th : pool) th.join();
}

struct Cand {
  float key;
  int64_t id;
};

// The CPU's rule (ops/cpu/knn_topk.cpp, TopK::finish) on every candidate at once.
void reference(std::vector<Cand> c, int64_t k, bool l2, float offset, std::vector<float>& dist,
               std::vector<int64_t>& ids) {
  c.erase(std::remove_if(c.begin(), c.end(), [](const Cand& x) { return std::isnan(x.key); }), c.end());
  std::sort(c.begin(), c.end(), [](const Cand& a, const Cand& b) { return before(a.key, a.id, b.key, b.id); });
  dist.assign(size_t(k), 0), ids.assign(size_t(k), 0);
  const int64_t n = std::min<int64_t>(k, int64_t(c.size()));
  for (int64_t i = 0; i < n; ++i) {
    dist[size_t(i)] = l2 ? std::max(c[size_t(i)].key + offset, 0.0f) : -c[size_t(i)].key;
    ids[size_t(i)] = c[size_t(i)].id;
  }
  if (l2) {
    int64_t zeros = 0;
    while (zeros < n && dist[size_t(zeros)] == 0.0f) ++zeros;
    std::sort(ids.begin(), ids.begin() + zeros);
  }
  for (int64_t i = n; i < k; ++i) dist[size_t(i)] = l2 ? kInf : -kInf, ids[size_t(i)] = -1;
}

// Keys from a small set (many ties), a few NaN and +inf; unique ids in a shuffled order.
std::vector<Cand> make_candidates(int64_t n, std::mt19937& rng, int distinct) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i * 3 - n;  // negative ids too
  std::shuffle(perm.begin(), perm.end(), rng);
  std::uniform_int_distribution<int> pick(0, distinct - 1), rare(0, 99);
  std::vector<Cand> c(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float key = float(pick(rng)) * 0.25f - 2.0f;
    const int r = rare(rng);
    if (r == 0) key = std::numeric_limits<float>::quiet_NaN();
    if (r == 1) key = kInf;
    if (r == 2) key = -0.0f;
    c[size_t(i)] = {key, perm[size_t(i)]};
  }
  return c;
}

void expect_equal(const std::vector<float>& d, const std::vector<int64_t>& i, const std::vector<float>& rd,
                  const std::vector<int64_t>& ri) {
  ASSERT_EQ(d.size(), rd.size());
  for (size_t j = 0; j < d.size(); ++j) {
    EXPECT_EQ(i[j], ri[j]) << "slot " << j;
    EXPECT_EQ(d[j], rd[j]) << "slot " << j;
    if (i[j] != ri[j]) return;
  }
}

// Streams the candidates in tiles (state stored and reloaded between tiles, as knn_flat.cu does).
void run_small(const std::vector<Cand>& c, int64_t k, int threads, int64_t tile, bool l2, float offset) {
  const int kp = small_kp(k, threads);
  std::vector<unsigned char> smem(small_smem_bytes(kp));
  SmallTopKScalars scalars{};
  std::vector<float> state_key(static_cast<size_t>(kp)), dist(static_cast<size_t>(k));
  std::vector<int64_t> state_id(static_cast<size_t>(kp)), ids(static_cast<size_t>(k));
  const int64_t n = int64_t(c.size());
  for (int64_t t0 = 0; t0 == 0 || t0 < n; t0 += tile) {
    const int64_t t1 = std::min(n, t0 + tile);
    const bool last = t1 >= n;
    run_block(threads, [&](const HostBlock& b) {
      SmallTopK<HostBlock> top(smem.data(), &scalars, kp, int(k));
      if (t0 == 0) top.init(b);
      else top.init(b, state_key.data(), state_id.data());
      for (int64_t r = t0; r < t1; r += b.size()) {
        const int64_t j = r + b.tid();
        if (j < t1 && top.passes(c[size_t(j)].key)) top.offer(b, c[size_t(j)].key, c[size_t(j)].id);
        top.end_round(b);
      }
      top.flush(b);
      if (last) top.finish(b, l2, offset, dist.data(), ids.data());
      else top.store(b, state_key.data(), state_id.data());
    });
    if (last) break;
  }
  std::vector<float> rd;
  std::vector<int64_t> ri;
  reference(c, k, l2, offset, rd, ri);
  expect_equal(dist, ids, rd, ri);
}

TEST(KnnSelectEmu, SmallTopKMatchesSort) {
  std::mt19937 rng(7);
  for (int64_t k : {1, 5, 32, 129, 1024})
    for (int threads : {32, 64})
      for (int64_t n : {int64_t(0), int64_t(3), k, 2 * k + 17, int64_t(3000)}) {
        if (threads == 64 && k > 32) continue;  // keeps the emulation quick
        SCOPED_TRACE("k " + std::to_string(k) + " threads " + std::to_string(threads) + " n " + std::to_string(n));
        auto c = make_candidates(n, rng, n % 2 ? 40 : 100000);
        run_small(c, k, threads, 1000, true, 1.0f);  // keys under -1 clamp to 0
        run_small(c, k, threads, 1 << 30, false, 0.0f);
      }
}

// Folds the candidates in batches through radix_fold, then sorts the list on the host (the
// GPU's segmented sort) and finishes with the same clamp rule.
void run_radix(const std::vector<Cand>& c, int64_t k, int threads, int64_t batch) {
  std::vector<float> a_key(static_cast<size_t>(k)), b_key(static_cast<size_t>(k));
  std::vector<int64_t> a_id(static_cast<size_t>(k)), b_id(static_cast<size_t>(k));
  int64_t count = 0, bar_id = 0;
  float bar_key = 0;
  RadixScalars scalars{};
  const int64_t n = int64_t(c.size());
  for (int64_t t0 = 0; t0 < n; t0 += batch) {
    const int64_t t1 = std::min(n, t0 + batch);
    RadixList in{a_key.data(), a_id.data(), &count, &bar_key, &bar_id};
    auto get = [&](int64_t j, float& key, int64_t& id) {
      key = c[size_t(t0 + j)].key, id = c[size_t(t0 + j)].id;
      return !std::isnan(key);
    };
    run_block(threads, [&](const HostBlock& b) { radix_fold(b, &scalars, in, b_key.data(), b_id.data(), k, get, t1 - t0); });
    std::swap(a_key, b_key), std::swap(a_id, b_id);
    ASSERT_LE(count, k);
  }
  std::vector<Cand> kept;
  for (int64_t i = 0; i < count; ++i) kept.push_back({a_key[size_t(i)], a_id[size_t(i)]});
  std::vector<float> d, rd;
  std::vector<int64_t> ids, ri;
  reference(kept, k, true, 1.0f, d, ids);
  reference(c, k, true, 1.0f, rd, ri);
  expect_equal(d, ids, rd, ri);
}

TEST(KnnSelectEmu, RadixFoldMatchesSort) {
  std::mt19937 rng(11);
  for (int64_t k : {1, 7, 100, 1000, 3000})
    for (int64_t n : {int64_t(0), int64_t(5), k + 1, int64_t(6000)})
      for (int distinct : {3, 50, 1000000}) {
        SCOPED_TRACE("k " + std::to_string(k) + " n " + std::to_string(n) + " distinct " + std::to_string(distinct));
        auto c = make_candidates(n, rng, distinct);
        run_radix(c, k, 32, 1500);
      }
}

TEST(KnnSelectEmu, Codes) {
  const float keys[] = {-kInf, -3.5f, -1e-30f, -0.0f, 0.0f, 1e-30f, 2.0f, kInf};
  for (size_t i = 0; i + 1 < std::size(keys); ++i) EXPECT_LE(key_code(keys[i]), key_code(keys[i + 1]));
  EXPECT_EQ(key_code(-0.0f), key_code(0.0f));
  for (float f : keys) EXPECT_EQ(key_from_code(key_code(f)), f);
  EXPECT_LT(id_code(-5), id_code(3));
  EXPECT_EQ(id_from_code(id_code(-5)), -5);
  EXPECT_EQ(id_from_code(id_code(kNoId)), kNoId);
}

}  // namespace
