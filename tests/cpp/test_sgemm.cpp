// The AVX-512 float32 GEMM (ops/cpu/sgemm_avx512) against a plain double loop: every transpose
// pair, edge tiles (M % 8, N % 32), K over several blocks, M and N over several packed blocks,
// beta 0 (C not read: it starts as NaN), 1 and 0.5, and a row stride of C wider than N.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ops/cpu/sgemm_avx512.h"

namespace {

struct Case {
  int64_t M, N, K;
};

TEST(Sgemm, Avx512MatchesReference) {
  const Case cases[] = {{1, 1, 1}, {8, 32, 16}, {13, 45, 7}, {64, 196, 288}, {130, 33, 513}, {9, 1100, 20}, {3, 70, 1}};
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  for (const Case& s : cases)
    for (int t = 0; t < 4; ++t)
      for (float beta : {0.0f, 1.0f, 0.5f}) {
        const bool ta = t & 1, tb = t & 2;
        const int64_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 1, ldc = s.N + 5;
        std::vector<float> a(size_t((ta ? s.K : s.M) * lda)), b(size_t((tb ? s.N : s.K) * ldb)), c(size_t(s.M * ldc));
        for (auto& v : a) v = normal(rng);
        for (auto& v : b) v = normal(rng);
        for (auto& v : c) v = beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : normal(rng);
        const std::vector<float> c0 = c;
        if (!aimass::cpu::sgemm_avx512(ta, tb, s.M, s.N, s.K, a.data(), lda, b.data(), ldb, beta, c.data(), ldc))
          GTEST_SKIP() << "no AVX-512 on this CPU";
        for (int64_t i = 0; i < s.M; ++i)
          for (int64_t j = 0; j < ldc; ++j) {
            const size_t at = size_t(i * ldc + j);
            if (j >= s.N) {  // past N: untouched
              ASSERT_TRUE(std::isnan(c[at]) ? std::isnan(c0[at]) : c[at] == c0[at]);
              continue;
            }
            double ref = beta == 0.0f ? 0.0 : double(beta) * c0[at];
            for (int64_t k = 0; k < s.K; ++k)
              ref += double(ta ? a[size_t(k * lda + i)] : a[size_t(i * lda + k)]) *
                     double(tb ? b[size_t(j * ldb + k)] : b[size_t(k * ldb + j)]);
            ASSERT_NEAR(c[at], ref, 1e-4 * (1.0 + std::sqrt(double(s.K)) * 4))
                << "M=" << s.M << " N=" << s.N << " K=" << s.K << " ta=" << ta << " tb=" << tb << " beta=" << beta
                << " at (" << i << ", " << j << ")";
          }
      }
}

TEST(Sgemm, RowBiasReplacesC) {
  const Case cases[] = {{13, 45, 7}, {64, 196, 288}, {32, 784, 9}};
  std::mt19937 rng(6);
  std::normal_distribution<float> normal;
  for (const Case& s : cases) {
    std::vector<float> a(size_t(s.M * s.K)), b(size_t(s.K * s.N)), bias(size_t(s.M)),
        c(size_t(s.M * s.N), std::numeric_limits<float>::quiet_NaN());
    for (auto* v : {&a, &b, &bias})
      for (auto& x : *v) x = normal(rng);
    if (!aimass::cpu::sgemm_avx512(false, false, s.M, s.N, s.K, a.data(), s.K, b.data(), s.N, 1.0f, c.data(), s.N,
                                   bias.data()))
      GTEST_SKIP() << "no AVX-512 on this CPU";
    for (int64_t i = 0; i < s.M; ++i)
      for (int64_t j = 0; j < s.N; ++j) {
        double ref = bias[size_t(i)];
        for (int64_t k = 0; k < s.K; ++k) ref += double(a[size_t(i * s.K + k)]) * b[size_t(k * s.N + j)];
        ASSERT_NEAR(c[size_t(i * s.N + j)], ref, 1e-4 * (1.0 + std::sqrt(double(s.K)) * 4)) << "M=" << s.M;
      }
  }
}

TEST(Sgemm, EmptyDimsAreLeftToTheBlas) {
  float a = 1, b = 1, c = 7;
  EXPECT_FALSE(aimass::cpu::sgemm_avx512(false, false, 1, 1, 0, &a, 1, &b, 1, 0.0f, &c, 1));
  EXPECT_FALSE(aimass::cpu::sgemm_avx512(false, false, 0, 1, 1, &a, 1, &b, 1, 0.0f, &c, 1));
  EXPECT_EQ(c, 7);
}

}  // namespace

namespace {

// B packed once (sgemm_avx512_pack_b) gives exactly the results of the GEMM that packs per call:
// the same blocking and summation order. Edge panels (N % 32), K over several blocks, beta 0 / 1,
// both B layouts, and a row stride of A wider than K.
TEST(Sgemm, PrepackedBEqualsPerCallPacking) {
  const Case cases[] = {{1, 1, 1}, {5, 45, 7}, {64, 300, 513}, {130, 33, 257}, {16, 1100, 64}};
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  for (const Case& s : cases)
    for (bool tb : {false, true})
      for (float beta : {0.0f, 1.0f}) {
        const int64_t lda = s.K + 2, ldb = (tb ? s.K : s.N) + 3;
        std::vector<float> a(size_t(s.M * lda)), b(size_t((tb ? s.N : s.K) * ldb)), c0(size_t(s.M * s.N));
        for (auto* v : {&a, &b, &c0})
          for (auto& x : *v) x = normal(rng);
        std::vector<float> c1 = c0, c2 = c0;
        auto packed = aimass::cpu::sgemm_avx512_pack_b(tb, s.N, s.K, b.data(), ldb);
        if (!packed) GTEST_SKIP() << "no AVX-512 on this CPU";
        ASSERT_TRUE(aimass::cpu::sgemm_avx512(false, tb, s.M, s.N, s.K, a.data(), lda, b.data(), ldb, beta, c1.data(),
                                              s.N));
        ASSERT_TRUE(aimass::cpu::sgemm_avx512_packed(s.M, a.data(), lda, *packed, beta, c2.data(), s.N));
        for (size_t i = 0; i < c1.size(); ++i)
          ASSERT_EQ(c1[i], c2[i]) << "M=" << s.M << " N=" << s.N << " K=" << s.K << " tb=" << tb << " at " << i;
      }
}

}  // namespace
