// TPE's kernels against direct formulas: the truncated normal, the Parzen estimator's density and
// its normalisation, the Sobol sequence's first points.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "hpo/parzen_estimator.h"
#include "hpo/rng.h"
#include "hpo/sobol.h"
#include "hpo/tpe.h"
#include "hpo/truncnorm.h"

namespace {
using namespace aimass::hpo;

double Phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

TEST(HpoTruncnorm, LogMassMatchesCdfDifference) {
  for (double a : {-7.0, -2.0, -0.3, 0.0, 0.4, 3.0}) {
    for (double w : {1e-3, 0.1, 1.0, 5.0}) {
      double b = a + w;
      EXPECT_NEAR(log_gauss_mass(a, b), std::log(Phi(b) - Phi(a)), 1e-9) << a << " " << b;
    }
  }
  // deep tails stay finite (the CDF difference underflows there)
  double far = log_gauss_mass(40.0, 41.0);
  EXPECT_TRUE(std::isfinite(far));
  EXPECT_NEAR(far, -0.5 * 40 * 40 - std::log(40.0) - 0.5 * std::log(2 * M_PI), 0.1);
}

TEST(HpoTruncnorm, PpfInvertsTheTruncatedCdf) {
  for (auto [a, b] : std::vector<std::pair<double, double>>{{-1, 1}, {-5, -3}, {2, 9}, {-0.5, 30}}) {
    for (double q : {0.01, 0.3, 0.5, 0.9, 0.999}) {
      double x = truncnorm_ppf(q, a, b);
      EXPECT_GE(x, a);
      EXPECT_LE(x, b);
      double cdf = std::exp(log_gauss_mass(a, x) - log_gauss_mass(a, b));
      EXPECT_NEAR(cdf, q, 1e-7) << a << " " << b << " " << q;
    }
  }
}

TEST(HpoParzen, ContinuousLogPdfIsTheDirectMixture) {
  // three observations in [0, 10]: sigmas by Optuna's neighbour rule, prior kernel last
  std::vector<ParzenParam> p(1);
  p[0].low = 0, p[0].high = 10;
  std::vector<double> obs = {2.0, 3.0, 7.0};
  ParzenEstimator e(p, obs.data(), 3, nullptr, ParzenOptions{});
  ASSERT_EQ(e.n_kernels(), 4);
  // sorted 2, 3, 7: first and last use the inner gap (consider_endpoints=False): 1, max(1, 4) = 4, 4;
  // clip to [10 / min(100, 5), 10] = [2, 10] -> 2, 4, 4; prior mu 5 sigma 10
  double mu[4] = {2, 3, 7, 5}, sg[4] = {2, 4, 4, 10};
  for (double x : {0.0, 1.5, 5.0, 9.9}) {
    double dens = 0;
    for (int k = 0; k < 4; ++k) {
      double z = (x - mu[k]) / sg[k];
      double mass = Phi((10 - mu[k]) / sg[k]) - Phi((0 - mu[k]) / sg[k]);
      dens += 0.25 * std::exp(-0.5 * z * z) / (sg[k] * std::sqrt(2 * M_PI)) / mass;
    }
    double got;
    e.log_pdf(&x, 1, &got);
    EXPECT_NEAR(got, std::log(dens), 1e-12) << x;
  }
  double outside = 10.5, got;
  e.log_pdf(&outside, 1, &got);
  EXPECT_TRUE(std::isinf(got) && got < 0);
}

TEST(HpoParzen, DensityIntegratesToOne) {
  std::vector<ParzenParam> p(1);
  p[0].low = 1e-3, p[0].high = 10, p[0].log = true;
  std::vector<double> obs = {0.01, 0.02, 0.5, 3.0, 8.0};
  ParzenEstimator e(p, obs.data(), 5, nullptr, ParzenOptions{});
  // density in the transformed space: integrate over t = log x
  int n = 20000;
  double lo = std::log(1e-3), hi = std::log(10.0), h = (hi - lo) / n, total = 0;
  for (int i = 0; i < n; ++i) {
    double x = std::exp(lo + (i + 0.5) * h), lp;
    e.log_pdf(&x, 1, &lp);
    total += std::exp(lp) * h;
  }
  EXPECT_NEAR(total, 1.0, 1e-6);
}

TEST(HpoParzen, SteppedAndCategoricalMassesSumToOne) {
  std::vector<ParzenParam> p(1);
  p[0].low = 0, p[0].high = 20, p[0].step = 2;
  std::vector<double> obs = {0, 4, 4, 18, 10};
  ParzenEstimator e(p, obs.data(), 5, nullptr, ParzenOptions{});
  double total = 0;
  for (double x = 0; x <= 20; x += 2) {
    double lp;
    e.log_pdf(&x, 1, &lp);
    total += std::exp(lp);
  }
  EXPECT_NEAR(total, 1.0, 1e-12);

  ParzenParam c;
  c.categorical = true, c.n_choices = 4;
  std::vector<double> cobs = {0, 0, 3};
  ParzenEstimator ec({c}, cobs.data(), 3, nullptr, ParzenOptions{});
  double sum = 0, lp[4], xs[4] = {0, 1, 2, 3};
  ec.log_pdf(xs, 4, lp);
  for (double v : lp) sum += std::exp(v);
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GT(lp[0], lp[3]);
  EXPECT_GT(lp[3], lp[1]);
}

TEST(HpoParzen, DefaultWeightsRampOlderObservations) {
  std::vector<double> w(30);
  default_weights(30, w.data());
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  EXPECT_DOUBLE_EQ(w[29], 1.0);
  EXPECT_NEAR(w[2], 1.0 / 30 + (1 - 1.0 / 30) * 0.5, 1e-15);
}

TEST(HpoTpe, ProposalSitsWhereGoodTrialsAre) {
  std::vector<ParzenParam> p(1);
  p[0].low = -10, p[0].high = 10;
  std::vector<double> below = {1.9, 2.0, 2.1, 2.05}, above;
  for (int i = 0; i < 40; ++i) above.push_back(-10 + 0.5 * i);
  Rng rng(7);
  for (int t = 0; t < 20; ++t) {
    double best;
    tpe_propose(p, below.data(), 4, nullptr, above.data(), 40, nullptr, ParzenOptions{}, 24, rng, &best);
    EXPECT_NEAR(best, 2.0, 1.5);
  }
}

TEST(HpoSobol, FirstPointsAreJoeKuo) {
  Sobol s(3, false, 0);
  double expect[8][3] = {{0, 0, 0}, {0.5, 0.5, 0.5}, {0.75, 0.25, 0.25}, {0.25, 0.75, 0.75},
                         {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125}, {0.625, 0.125, 0.875}, {0.125, 0.625, 0.375}};
  for (int i = 0; i < 8; ++i) {
    double x[3];
    s.point(i, x);
    for (int j = 0; j < 3; ++j) EXPECT_EQ(x[j], expect[i][j]) << i << " " << j;
  }
}

TEST(HpoSobol, ScrambledIsStillOnePointPerCell) {
  // a (0, m, 2) net: the first 2^m points of a scrambled 2-D Sobol fill each of the 2^m cells of any
  // 2^a x 2^(m-a) grid once
  Sobol s(2, true, 123);
  int cells[64] = {0};
  for (int i = 0; i < 64; ++i) {
    double x[2];
    s.point(i, x);
    cells[int(x[0] * 8) * 8 + int(x[1] * 8)]++;
  }
  for (int c : cells) EXPECT_EQ(c, 1);
}

TEST(HpoRng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
  Rng r(1);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(r.below(7), 7u);
}

}  // namespace
