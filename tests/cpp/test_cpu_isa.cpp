// The one CPU instruction-set switch (core/cpu_isa.h): at every level this process may use, each
// dispatch point of the CPU kernels takes that level's variant (the dispatch-counting hook says
// which ran) and its results match a plain reference written here. Levels above
// cpu_isa_limit() (the CPU's, lowered by AIMASS_CPU_ISA) are skipped: CI runs this binary again
// with AIMASS_CPU_ISA=avx2 and =baseline (tests/run.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/error.h"
#include "knn/kmeans.h"
#include "ops/cpu/knn_dot.h"
#include "ops/cpu/knn_topk.h"
#include "ops/cpu/sgemm_avx512.h"
#include "ops/cpu/simd/simd.h"
#include "ops/kernels.h"
#include "ops/pool.h"

using namespace aimass;

namespace {

const CpuIsa kLevels[] = {CpuIsa::Baseline, CpuIsa::Avx2, CpuIsa::Avx512};

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(n);
  for (float& x : v) x = g(rng);
  return v;
}

Tensor tensor_of(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// Runs at one level with the hook counting; afterwards, the level it started from.
class CpuIsaLevel : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    before_ = cpu_isa();
    if (int(GetParam()) > int(cpu_isa_limit()))
      GTEST_SKIP() << cpu_isa_name(GetParam()) << " is above this process's limit " << cpu_isa_name(cpu_isa_limit());
    set_cpu_isa(GetParam());
    set_isa_dispatch_counting(true);
  }
  void TearDown() override {
    set_isa_dispatch_counting(false);
    set_cpu_isa(before_);
  }
  // The site ran at this test's level, and never at another.
  void expect_took_level(const char* site) {
    for (CpuIsa isa : kLevels) {
      if (isa == GetParam()) EXPECT_GT(isa_dispatch_count(site, isa), 0) << site;
      else EXPECT_EQ(isa_dispatch_count(site, isa), 0) << site << " ran at " << cpu_isa_name(isa);
    }
  }
  CpuIsa before_ = CpuIsa::Baseline;
};

TEST(CpuIsa, NamesRoundTripAndUnknownNamesAreValueErrors) {
  for (CpuIsa isa : kLevels) EXPECT_EQ(cpu_isa_from_name(cpu_isa_name(isa)), isa);
  EXPECT_THROW(cpu_isa_from_name("avx3"), ValueError);
  EXPECT_THROW(set_cpu_simd_level("AVX2"), ValueError);
}

TEST(CpuIsa, EveryLevelUpToTheLimitIsTakenAndAboveItIsAValueError) {
  const CpuIsa before = cpu_isa();
  for (CpuIsa isa : kLevels) {
    if (int(isa) > int(cpu_isa_limit())) {
      set_cpu_isa(CpuIsa::Baseline);
      EXPECT_THROW(set_cpu_isa(isa), ValueError) << cpu_isa_name(isa);
      EXPECT_EQ(cpu_isa(), CpuIsa::Baseline);  // a refused request changes nothing
      continue;
    }
    set_cpu_isa(isa);
    EXPECT_EQ(cpu_isa(), isa);
    EXPECT_STREQ(cpu_simd_level(), cpu_isa_name(isa));
    EXPECT_STREQ(simd::kernels().level, cpu_isa_name(isa));  // the SIMD table follows
  }
  set_cpu_isa(before);
}

TEST(CpuIsa, CountingIsOffUntilAsked) {
  set_isa_dispatch_counting(false);
  float q[4] = {1, 2, 3, 4}, ip[1];
  cpu::knn_dot_rows(q, q, 1, 4, ip);
  EXPECT_EQ(isa_dispatch_count("knn_dot", cpu_isa()), 0);
  EXPECT_FLOAT_EQ(ip[0], 30.0f);
}

// That the table follows the level; every entry of it is checked against a plain reference at
// every level by test_cpu_kernels.cpp (CpuKernels, one instance per level).
TEST_P(CpuIsaLevel, SimdTable) {
  const std::vector<float> v = random_floats(1000, 1);
  Tensor x = tensor_of(v, {1000}), out = Tensor::empty({1000}, DType::Float32);
  cpu::unary(UnaryOp::Abs, x, out);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(out.data<float>()[i], std::fabs(v[i]));
  EXPECT_STREQ(simd::kernels().level, cpu_isa_name(GetParam()));
  expect_took_level("simd_table");
}

TEST_P(CpuIsaLevel, KnnDotRows) {
  for (int64_t d : {1, 7, 8, 16, 33, 128}) {
    const int64_t n = 37;  // a remainder after the 8- and 4-row passes
    const std::vector<float> q = random_floats(size_t(d), 2), x = random_floats(size_t(n * d), 3);
    std::vector<float> ip(static_cast<size_t>(n));
    cpu::knn_dot_rows(q.data(), x.data(), n, d, ip.data());
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t t = 0; t < d; ++t) want += double(q[size_t(t)]) * x[size_t(j * d + t)];
      ASSERT_NEAR(ip[size_t(j)], want, 1e-5 * (1 + std::sqrt(double(d)))) << "d " << d << " row " << j;
    }
  }
  expect_took_level("knn_dot");
}

TEST_P(CpuIsaLevel, KnnScanRowKeepsTheBestK) {
  const int64_t n = 1003, k = 10;  // not a multiple of 8 or 16: the scalar tail runs too
  const std::vector<float> ip = random_floats(size_t(n), 4), b = random_floats(size_t(n), 5);
  std::vector<int64_t> ids(static_cast<size_t>(n));
  bool allowed[1003];
  for (int64_t j = 0; j < n; ++j) ids[size_t(j)] = 100 + j, allowed[j] = j % 3 != 0;
  cpu::TopK top(k);
  cpu::knn_scan_row(ip.data(), b.data(), -2.0f, n, ids.data(), allowed, top);
  std::vector<float> dist(static_cast<size_t>(k));
  std::vector<int64_t> got(static_cast<size_t>(k));
  top.finish(KnnMetric::InnerProduct, 0.0f, dist.data(), got.data());
  // Reference: sort every allowed (key, id).
  std::vector<cpu::KnnCandidate> all;
  for (int64_t j = 0; j < n; ++j)
    if (allowed[j]) all.push_back({-2.0f * ip[size_t(j)] + b[size_t(j)], ids[size_t(j)]});
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < k; ++i) {
    EXPECT_EQ(got[size_t(i)], all[size_t(i)].id) << i;
    EXPECT_FLOAT_EQ(dist[size_t(i)], -all[size_t(i)].key) << i;
  }
  expect_took_level("knn_scan");
}

TEST_P(CpuIsaLevel, SgemmRunsOnlyAtAvx512) {
  const int64_t M = 19, N = 41, K = 23;
  const std::vector<float> a = random_floats(size_t(M * K), 6), b = random_floats(size_t(K * N), 7);
  std::vector<float> c(size_t(M * N), 0.0f);
  const bool ran = cpu::sgemm_avx512(false, false, M, N, K, a.data(), K, b.data(), N, 0.0f, c.data(), N);
  EXPECT_EQ(ran, GetParam() == CpuIsa::Avx512);
  if (ran)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double want = 0;
        for (int64_t t = 0; t < K; ++t) want += double(a[size_t(i * K + t)]) * b[size_t(t * N + j)];
        ASSERT_NEAR(c[size_t(i * N + j)], want, 1e-4) << i << "," << j;
      }
  expect_took_level("sgemm");
}

TEST_P(CpuIsaLevel, MaxPool2x2) {
  const int64_t P = 3, H = 6, W = 40;  // 20 outputs a row: one full AVX-512 step and a masked one
  const std::vector<float> v = random_floats(size_t(P * H * W), 8);
  Tensor x = tensor_of(v, {1, P, H, W});
  Tensor out = Tensor::empty({1, P, H / 2, W / 2}, DType::Float32), idx = Tensor::empty({1, P, H / 2, W / 2}, DType::Int64);
  Pool2dParams p{2, 2, 2, 2};
  cpu::max_pool2d(x, p, out, idx);
  for (int64_t pl = 0; pl < P; ++pl)
    for (int64_t oh = 0; oh < H / 2; ++oh)
      for (int64_t ow = 0; ow < W / 2; ++ow) {
        int64_t best = (2 * oh) * W + 2 * ow;
        for (int64_t dh = 0; dh < 2; ++dh)
          for (int64_t dw = 0; dw < 2; ++dw) {
            const int64_t at = (2 * oh + dh) * W + 2 * ow + dw;
            if (v[size_t(pl * H * W + at)] > v[size_t(pl * H * W + best)]) best = at;
          }
        const int64_t o = (pl * (H / 2) + oh) * (W / 2) + ow;
        ASSERT_EQ(idx.data<int64_t>()[o], best) << pl << "," << oh << "," << ow;
        ASSERT_EQ(out.data<float>()[o], v[size_t(pl * H * W + best)]);
      }
  expect_took_level("max_pool_2x2");
}

TEST_P(CpuIsaLevel, OptimStepAndGradScale) {
  const int64_t n = 1001;
  const std::vector<float> p0 = random_floats(size_t(n), 9), g0 = random_floats(size_t(n), 10);
  Tensor p = tensor_of(p0, {n}), g = tensor_of(g0, {n});
  Tensor m = tensor_of(std::vector<float>(size_t(n), 0.0f), {n}), v = tensor_of(std::vector<float>(size_t(n), 0.0f), {n});
  OptimHyper hp;
  hp.lr = 0.01;
  OptimParam op;
  op.param = p, op.grad = g, op.state[0] = m, op.state[1] = v;
  cpu::optim_step(OptimAlgo::Adam, hp, {op});
  for (int64_t i = 0; i < n; ++i) {
    // Adam's first step: m = (1 - b1) g, v = (1 - b2) g^2, p -= lr * m_hat / (sqrt(v_hat) + eps).
    const double gi = g0[size_t(i)], mh = gi, vh = gi * gi;
    const double want = p0[size_t(i)] - hp.lr * mh / (std::sqrt(vh) + hp.eps);
    ASSERT_NEAR(p.data<float>()[i], want, 1e-6) << i;
  }
  expect_took_level("optim_step");

  double want_sq = 0;
  for (float x : g0) want_sq += double(x) * x;
  const double got_sq = cpu::grad_scale({g}, 0.5);
  EXPECT_NEAR(got_sq, want_sq, 1e-9 * want_sq);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(g.data<float>()[i], 0.5f * g0[size_t(i)]);
  expect_took_level("grad_scale");
}

TEST_P(CpuIsaLevel, KmeansPlusPlusGivesTheSameCentroidsAtEveryLevel) {
  // Four tight, far-apart blobs: k-means++ then Lloyd find them whatever the rounding.
  const int64_t per = 50, d = 12;
  std::vector<float> v = random_floats(size_t(4 * per * d), 11);
  for (int64_t i = 0; i < 4 * per; ++i)
    for (int64_t t = 0; t < d; ++t) v[size_t(i * d + t)] = 0.01f * v[size_t(i * d + t)] + (t == i / per ? 10.0f : 0.0f);
  knn::KMeansOptions opt;
  opt.k = 4;
  opt.niter = 5;
  knn::KMeansResult r = knn::kmeans(tensor_of(v, {4 * per, d}), opt);
  std::vector<bool> found(4, false);
  for (int64_t c = 0; c < 4; ++c) {
    int64_t blob = -1;
    for (int64_t t = 0; t < 4; ++t)
      if (r.centroids.data<float>()[c * d + t] > 9.9f) blob = t;
    ASSERT_GE(blob, 0) << "centroid " << c << " is not on a blob";
    found[size_t(blob)] = true;
  }
  for (int64_t t = 0; t < 4; ++t) EXPECT_TRUE(found[size_t(t)]) << "blob " << t;
  EXPECT_LT(r.inertia, 4 * per * d * 1e-3);
  expect_took_level("kmeans_pp");
}

INSTANTIATE_TEST_SUITE_P(Levels, CpuIsaLevel, ::testing::ValuesIn(kLevels),
                         [](const auto& info) { return std::string(cpu_isa_name(info.param)); });

}  // namespace
