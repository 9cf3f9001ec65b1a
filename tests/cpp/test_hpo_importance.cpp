// hpo/importance.h: PED-ANOVA's Parzen estimator and divergence, fANOVA on a known function.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"
#include "hpo/importance.h"

using namespace aimass::hpo;

TEST(HpoImportance, ParzenPdfSumsToOne) {
  int64_t counts[] = {0, 3, 0, 1, 0, 0, 2};
  for (bool categorical : {false, true}) {
    auto pdf = parzen_pdf_on_grid(counts, 7, categorical, 1.0);
    EXPECT_NEAR(std::accumulate(pdf.begin(), pdf.end(), 0.0), 1.0, 1e-12);
    EXPECT_GT(pdf[1], pdf[0]);
  }
  int64_t none[] = {0, 0};
  EXPECT_THROW(parzen_pdf_on_grid(none, 2, false, 1.0), aimass::ValueError);
}

TEST(HpoImportance, DivergenceIsZeroForTheSameHistogram) {
  int64_t a[] = {1, 2, 3, 4, 5};
  EXPECT_NEAR(ped_anova_divergence(a, a, 5, false, 1.0, true), 0.0, 1e-9);
  int64_t top[] = {5, 0, 0, 0, 0};
  EXPECT_GT(ped_anova_divergence(top, a, 5, false, 1.0, true), 0.5);
}

TEST(HpoImportance, FanovaFindsTheParameterThatMatters) {
  // y = x0^2 + 0.01 x1 over [-1, 1]^2.
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> u(-1, 1);
  const int64_t n = 200;
  std::vector<double> X(2 * n), y(n);
  for (int64_t i = 0; i < n; ++i) {
    X[2 * i] = u(rng), X[2 * i + 1] = u(rng);
    y[i] = X[2 * i] * X[2 * i] + 0.01 * X[2 * i + 1];
  }
  double bounds[] = {-1, 1, -1, 1};
  auto imp = fanova_importances(X.data(), y.data(), n, 2, bounds, {{0}, {1}}, 16, 64, 0);
  ASSERT_EQ(imp.size(), 2u);
  EXPECT_GT(imp[0], 0.9);
  EXPECT_LT(imp[1], 0.05);
  std::vector<double> flat(n, 1.0);
  EXPECT_THROW(fanova_importances(X.data(), flat.data(), n, 2, bounds, {{0}, {1}}, 4, 64, 0), aimass::RuntimeError);
}
