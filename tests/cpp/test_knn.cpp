// The k-NN core: the CPU top-k selection against a full sort (with many ties), the flat and
// IVF kernels against brute force, and FlatIndex's id rules. The Python suite covers the
// public API; these pin the pieces the CUDA kernels are compared with.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "knn/flat_index.h"
#include "ops/cpu/knn_topk.h"
#include "ops/knn.h"

using namespace aimass;

namespace {

struct Pair {
  float key;
  int64_t id;
  bool operator<(const Pair& o) const { return key < o.key || (key == o.key && id < o.id); }
};

Tensor floats(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Tensor iota_ids(int64_t n) {
  Tensor t = Tensor::empty({n}, DType::Int64);
  for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = i;
  return t;
}

}  // namespace

TEST(KnnTopK, EqualsSortedPrefixWithTiesByIdForAnyK) {
  std::mt19937 rng(7);
  for (int64_t n : {1, 5, 64, 1000}) {
    for (int64_t k : {int64_t(1), int64_t(3), n / 2 + 1, n, n + 4}) {
      std::vector<Pair> all;
      cpu::TopK top(k);
      for (int64_t i = 0; i < n; ++i) {
        // Few distinct keys: ties everywhere; ids in a shuffled order.
        const float key = float(rng() % 7);
        const int64_t id = (i * 7919) % 100003;
        all.push_back({key, id});
        top.push(key, id);
      }
      std::sort(all.begin(), all.end());
      std::vector<float> dist(static_cast<size_t>(k));
      std::vector<int64_t> ids(static_cast<size_t>(k));
      top.finish(KnnMetric::InnerProduct, 0.0f, dist.data(), ids.data());
      for (int64_t i = 0; i < k; ++i) {
        if (i < n) {
          EXPECT_EQ(ids[size_t(i)], all[size_t(i)].id) << "n=" << n << " k=" << k << " i=" << i;
          EXPECT_EQ(dist[size_t(i)], -all[size_t(i)].key);
        } else {
          EXPECT_EQ(ids[size_t(i)], -1);
          EXPECT_EQ(dist[size_t(i)], -std::numeric_limits<float>::infinity());
        }
      }
    }
  }
}

TEST(KnnTopK, ScanRowMatchesScalarRuleWithMask) {
  // key = a * ip + b; rows with allowed false never enter. 37 rows: SIMD body and tail.
  std::vector<float> ip(37), b(37);
  std::vector<int64_t> ids(37);
  bool allowed[37];
  for (int i = 0; i < 37; ++i) ip[size_t(i)] = float((i * 13) % 11), b[size_t(i)] = float(i % 3), ids[size_t(i)] = 100 + i, allowed[i] = i % 4 != 0;
  cpu::TopK top(5);
  cpu::knn_scan_row(ip.data(), b.data(), -2.0f, 37, ids.data(), allowed, top);
  std::vector<Pair> ref;
  for (int i = 0; i < 37; ++i)
    if (allowed[i]) ref.push_back({-2.0f * ip[size_t(i)] + b[size_t(i)], ids[size_t(i)]});
  std::sort(ref.begin(), ref.end());
  float dist[5];
  int64_t out[5];
  top.finish(KnnMetric::L2, 100.0f, dist, out);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i], ref[size_t(i)].id);
    EXPECT_FLOAT_EQ(dist[i], std::max(ref[size_t(i)].key + 100.0f, 0.0f));
  }
}

TEST(KnnFlatKernel, MatchesBruteForceAcrossTilesAndPartitions) {
  // nb spans several 1024-row tiles; nq = 1 (direct path, base split across threads) and
  // nq = 300 (GEMM path, two query blocks). Integer-valued data: float32 math is exact.
  std::mt19937 rng(3);
  const int64_t nb = 2500, d = 9;
  std::vector<float> base(size_t(nb * d));
  for (float& v : base) v = float(int(rng() % 5) - 2);
  Tensor xb = floats(base, {nb, d});
  Tensor norms = knn_row_norms(xb);
  Tensor ids = iota_ids(nb);
  for (int64_t nq : {1, 300}) {
    std::vector<float> q(size_t(nq * d));
    for (float& v : q) v = float(int(rng() % 5) - 2);
    Tensor xq = floats(q, {nq, d});
    const int64_t k = 17;
    KnnResult r = knn_flat_search(xq, xb, norms, ids, Tensor(), KnnMetric::L2, k);
    for (int64_t i = 0; i < nq; ++i) {
      std::vector<Pair> all;
      for (int64_t j = 0; j < nb; ++j) {
        float s = 0;
        for (int64_t t = 0; t < d; ++t) s += (q[size_t(i * d + t)] - base[size_t(j * d + t)]) * (q[size_t(i * d + t)] - base[size_t(j * d + t)]);
        all.push_back({s, j});
      }
      std::sort(all.begin(), all.end());
      for (int64_t t = 0; t < k; ++t) {
        ASSERT_EQ(r.ids.data<int64_t>()[i * k + t], all[size_t(t)].id) << "query " << i << " rank " << t;
        ASSERT_EQ(r.distances.data<float>()[i * k + t], all[size_t(t)].key);
      }
    }
  }
}

TEST(KnnIvfKernel, ScansOnlyProbedListsOnce) {
  // 6 rows in 3 lists [0,2) [2,5) [5,6); the query probes list 1 twice and list 2 (and -1).
  Tensor lists = floats({0, 1, 2, 3, 4, 5}, {6, 1});
  Tensor norms = knn_row_norms(lists);
  Tensor ids = iota_ids(6);
  Tensor offsets = Tensor::empty({4}, DType::Int64);
  int64_t off[4] = {0, 2, 5, 6};
  std::copy(off, off + 4, offsets.data<int64_t>());
  Tensor probes = Tensor::empty({1, 4}, DType::Int64);
  int64_t pr[4] = {1, -1, 1, 2};
  std::copy(pr, pr + 4, probes.data<int64_t>());
  KnnResult r = knn_ivf_search(floats({0.0f}, {1, 1}), lists, norms, ids, Tensor(), offsets, probes, KnnMetric::L2, 6);
  const int64_t want[6] = {2, 3, 4, 5, -1, -1};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.ids.data<int64_t>()[i], want[i]);
  EXPECT_EQ(r.distances.data<float>()[0], 4.0f);
  EXPECT_EQ(r.distances.data<float>()[5], std::numeric_limits<float>::infinity());
}

TEST(KnnFlatIndex, RejectsDuplicateIdsAndLeavesIndexUnchanged) {
  knn::FlatIndex index(2, knn::Metric::L2);
  index.add(floats({0, 0, 1, 1}, {2, 2}), Tensor());
  Tensor dup = Tensor::empty({2}, DType::Int64);
  dup.data<int64_t>()[0] = 7, dup.data<int64_t>()[1] = 1;  // 1 is taken
  EXPECT_THROW(index.add(floats({2, 2, 3, 3}, {2, 2}), dup), ValueError);
  EXPECT_EQ(index.ntotal(), 2);
  dup.data<int64_t>()[1] = 7;  // repeated within the call
  EXPECT_THROW(index.add(floats({2, 2, 3, 3}, {2, 2}), dup), ValueError);
  EXPECT_EQ(index.ntotal(), 2);
  Tensor gone = Tensor::empty({1}, DType::Int64);
  gone.data<int64_t>()[0] = 0;
  EXPECT_EQ(index.remove(gone), 1);
  EXPECT_THROW(index.reconstruct(0), ValueError);
  EXPECT_EQ(index.reconstruct(1).data<float>()[0], 1.0f);
}
