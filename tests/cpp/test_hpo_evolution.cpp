// The native halves of CMA-ES, NSGA-II and the GP sampler (hpo/cmaes.h, nsga2.h, gp.h) on cases
// worked by hand; tests/python/test_hpo_{cmaes,gp,nsga2}.py compare them with NumPy references.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "hpo/cmaes.h"
#include "hpo/gp.h"
#include "hpo/nsga2.h"

using namespace aimass;
using namespace aimass::hpo;

namespace {

double sphere(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += (v - 0.3) * (v - 0.3);
  return s;
}

// ask/tell generations of `opt` on the shifted sphere; returns the best value seen
double run_cma(CmaEs& opt, int generations) {
  double best = INFINITY;
  uint64_t seed = 1;
  for (int g = 0; g < generations; ++g) {
    std::vector<double> xs, ys;
    for (int64_t k = 0; k < opt.popsize(); ++k) {
      auto x = opt.ask(seed++);
      xs.insert(xs.end(), x.begin(), x.end());
      ys.push_back(sphere(x));
      best = std::min(best, ys.back());
    }
    opt.tell(xs.data(), ys.data(), opt.popsize());
  }
  return best;
}

}  // namespace

TEST(HpoCmaEs, DefaultPopsizeAndConvergesOnSphere) {
  std::vector<double> mean(6, 0.5), lo(6, 0.0), hi(6, 1.0);
  CmaEs opt(mean.data(), 6, 1.0 / 6, lo.data(), hi.data(), {});
  EXPECT_EQ(opt.popsize(), 4 + int64_t(std::floor(3 * std::log(6.0))));
  EXPECT_LT(run_cma(opt, 120), 1e-8);
  for (double m : opt.mean()) EXPECT_NEAR(m, 0.3, 1e-3);
}

TEST(HpoCmaEs, SeparableConvergesAndStateRoundTrips) {
  std::vector<double> mean(4, 0.5), lo(4, 0.0), hi(4, 1.0);
  CmaEsOptions o;
  o.separable = true;
  CmaEs opt(mean.data(), 4, 0.2, lo.data(), hi.data(), o);
  EXPECT_LT(run_cma(opt, 150), 1e-8);
  auto s = opt.state();
  CmaEs back = CmaEs::from_state(s.data(), int64_t(s.size()));
  EXPECT_EQ(back.generation(), 150);
  EXPECT_EQ(back.cov(), opt.cov());
  EXPECT_EQ(back.ask(9), opt.ask(9));
}

TEST(HpoCmaEs, FlatValuesStopTheOptimizer) {
  std::vector<double> mean(2, 0.5), lo(2, 0.0), hi(2, 1.0);
  CmaEsOptions o;
  o.popsize = 6;
  CmaEs opt(mean.data(), 2, 0.2, lo.data(), hi.data(), o);
  std::vector<double> xs(12, 0.5), ys(6, 1.0);
  int g = 0;
  while (!opt.should_stop() && g < 100) opt.tell(xs.data(), ys.data(), 6), ++g;
  EXPECT_EQ(g, 10 + 10 + 1);  // funhist_term = 10 + ceil(30 * 2 / 6) generations, then one more
}

TEST(HpoCmaEs, SymmetricEigenReconstructs) {
  std::vector<double> a = {4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2}, ev, vec;
  symmetric_eigen(a.data(), 3, ev, vec);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += vec[i * 3 + k] * ev[k] * vec[j * 3 + k];
      EXPECT_NEAR(s, a[i * 3 + j], 1e-12);
    }
}

TEST(HpoNsga2, CrowdingDistanceByHand) {
  // one objective 0, 1, 3: extremes infinite, the middle (3 - 0) / 3
  std::vector<double> v = {0, 1, 3};
  auto d = crowding_distance(v.data(), 3, 1);
  EXPECT_TRUE(std::isinf(d[0]) && std::isinf(d[2]));
  EXPECT_DOUBLE_EQ(d[1], 1.0);
  std::vector<double> same = {2, 2, 2};
  for (double x : crowding_distance(same.data(), 3, 1)) EXPECT_EQ(x, 0.0);
}

TEST(HpoNsga2, ConstrainedSelection) {
  std::vector<double> v = {0, 1, 1, 0, -5, -5, 2, 2};
  std::vector<double> penalty = {0, 0, 2, NAN};  // point 2 dominates all but is infeasible
  auto r = constrained_ranks(v.data(), 4, 2, penalty.data());
  EXPECT_EQ(r, (std::vector<int32_t>{0, 0, 1, 2}));
  auto e = nsga2_select(v.data(), 4, 2, penalty.data(), 2);
  std::sort(e.begin(), e.end());
  EXPECT_EQ(e, (std::vector<int64_t>{0, 1}));
}

TEST(HpoNsga2, SbxChildInBoundsSpxUsesAllParents) {
  std::vector<double> p = {0.0, 1.0, 1.0, 0.0}, lo = {0, 0}, hi = {1, 1};
  for (uint64_t s = 0; s < 100; ++s)
    for (double c : crossover_sbx(p.data(), 2, lo.data(), hi.data(), 2.0, 0.5, 0.5, s)) {
      EXPECT_GE(c, 0.0);
      EXPECT_LE(c, 1.0);
    }
  std::vector<double> same = {0.4, 0.4, 0.4, 0.4, 0.4, 0.4};  // identical parents: the child is them
  for (double c : crossover_spx(same.data(), 3, 2, 2.0, 7)) EXPECT_NEAR(c, 0.4, 1e-15);
}

TEST(HpoGp, InterpolatesAndLogEi) {
  std::vector<double> X = {0.0, 0.5, 1.0}, y = {1.0, -1.0, 0.5};
  uint8_t cat = 0;
  GaussianProcess gp(X.data(), 3, 1, &cat, y.data(), {{4.0}, 1.0, 1e-8});
  double m, v;
  gp.posterior(&X[1], 1, &m, &v);
  EXPECT_NEAR(m, -1.0, 1e-6);
  EXPECT_NEAR(v, 0.0, 1e-6);
  EXPECT_NEAR(standard_log_ei(0.0), std::log(1.0 / std::sqrt(2 * M_PI)), 1e-14);
  EXPECT_NEAR(standard_log_ei(10.0), std::log(10.0), 1e-12);  // EI -> z for z >> 0
  EXPECT_TRUE(std::isfinite(standard_log_ei(-1e4)));
  for (double z : {-40.0, -10.0, -0.5, 2.0}) {  // derivative against a central difference
    double h = 1e-6, fd = (standard_log_ei(z + h) - standard_log_ei(z - h)) / (2 * h);
    EXPECT_NEAR(standard_log_ei_grad(z), fd, 1e-5 * std::max(1.0, std::fabs(fd)));
  }
}

TEST(HpoGp, PosteriorGradientMatchesFiniteDifferences) {
  // 8 points in 2-D (second column categorical), fixed kernel parameters
  std::vector<double> X = {0.1, 0, 0.4, 1, 0.9, 0, 0.3, 2, 0.7, 1, 0.2, 2, 0.55, 0, 0.8, 1};
  std::vector<double> y = {0.3, -1.0, 0.8, 0.1, -0.4, 1.2, -0.2, 0.5};
  uint8_t cat[2] = {0, 1};
  GaussianProcess gp(X.data(), 8, 2, cat, y.data(), {{3.0, 0.7}, 1.2, 1e-4});
  double x[2] = {0.47, 1.0}, m, v, dm[2], dv[2];
  gp.posterior_grad(x, m, v, dm, dv);
  const double h = 1e-6;
  double xp[2] = {x[0] + h, x[1]}, xm[2] = {x[0] - h, x[1]}, mp, vp, mm, vm;
  gp.posterior(xp, 1, &mp, &vp);
  gp.posterior(xm, 1, &mm, &vm);
  EXPECT_NEAR(dm[0], (mp - mm) / (2 * h), 1e-6);
  EXPECT_NEAR(dv[0], (vp - vm) / (2 * h), 1e-6);
  EXPECT_EQ(dm[1], 0.0);  // categorical: no gradient
  double mean_b, var_b;
  gp.posterior(x, 1, &mean_b, &var_b);
  EXPECT_NEAR(m, mean_b, 1e-12);
  EXPECT_NEAR(v, var_b, 1e-12);
}

TEST(HpoGp, FitRejectsEmptyData) {
  uint8_t cat = 0;
  EXPECT_THROW(gp_fit(nullptr, 0, 1, &cat, nullptr, {}, 1e-6, false), ValueError);
}
