// hpo/pruners.h: the native halves of am.hpo's pruners (values checked against Optuna's/numpy's).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "hpo/pruners.h"

using namespace aimass::hpo;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

TEST(HpoPruners, BestIntermediateIgnoresNaN) {
  double v[] = {3.0, kNaN, 1.0, 2.0};
  EXPECT_EQ(best_intermediate(v, 4, false), 1.0);
  EXPECT_EQ(best_intermediate(v, 4, true), 3.0);
  double all_nan[] = {kNaN, kNaN};
  EXPECT_TRUE(std::isnan(best_intermediate(all_nan, 2, false)));
}

TEST(HpoPruners, NanPercentileAsNumpy) {
  double v[] = {4.0, kNaN, 1.0, 3.0, 2.0};
  EXPECT_DOUBLE_EQ(nan_percentile(v, 5, 50.0), 2.5);   // np.nanpercentile([4, nan, 1, 3, 2], 50)
  EXPECT_DOUBLE_EQ(nan_percentile(v, 5, 25.0), 1.75);
  EXPECT_EQ(nan_percentile(v, 5, 0.0), 1.0);
  EXPECT_EQ(nan_percentile(v, 5, 100.0), 4.0);
  EXPECT_TRUE(std::isnan(nan_percentile(v + 1, 1, 50.0)));
  EXPECT_THROW(nan_percentile(v, 5, 101.0), aimass::ValueError);
}

TEST(HpoPruners, FirstInIntervalStep) {
  int64_t steps[] = {0, 1, 2, 5};
  // warmup 0, interval 3: the check points are 0, 3, 6; step 5 is the first report since 3.
  EXPECT_TRUE(is_first_in_interval_step(5, steps, 4, 0, 3));
  int64_t steps2[] = {0, 3, 4};
  EXPECT_FALSE(is_first_in_interval_step(4, steps2, 3, 0, 3));  // 3 was already checked
  EXPECT_TRUE(is_first_in_interval_step(3, steps2, 2, 0, 3));
}

TEST(HpoPruners, PercentileDecision) {
  double others[] = {1.0, 2.0, 3.0};
  EXPECT_TRUE(percentile_should_prune(2.5, others, 3, 50.0, 1, false));
  EXPECT_FALSE(percentile_should_prune(1.5, others, 3, 50.0, 1, false));
  EXPECT_TRUE(percentile_should_prune(1.5, others, 3, 50.0, 1, true));
  EXPECT_FALSE(percentile_should_prune(2.5, others, 3, 50.0, 4, false));  // fewer than n_min_trials
  EXPECT_TRUE(percentile_should_prune(kNaN, others, 3, 50.0, 1, false));
}

TEST(HpoPruners, AshaPromotion) {
  EXPECT_EQ(rung_promotion_step(2, 3, 1, 2), 54);
  double competing[] = {0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.8, 0.4};  // eta 4: the best 2 go on
  EXPECT_TRUE(asha_promotable(0.2, competing, 8, 4, false));
  EXPECT_FALSE(asha_promotable(0.3, competing, 8, 4, false));
  EXPECT_TRUE(asha_promotable(0.8, competing, 8, 4, true));
  double two[] = {0.5, 0.4};  // fewer than eta: only the best
  EXPECT_FALSE(asha_promotable(0.5, two, 2, 4, false));
}

TEST(HpoPruners, HyperbandBracketsAsOptuna) {
  EXPECT_EQ(hyperband_n_brackets(1, 81, 3), 5);   // Python: floor(math.log(81, 3)) + 1
  EXPECT_EQ(hyperband_n_brackets(1, 243, 3), 5);  // math.log(243, 3) = 4.999999999999999
  auto budgets = hyperband_budgets(4, 3);
  EXPECT_EQ(budgets, (std::vector<int64_t>{27, 12, 6, 4}));  // ceil(4 * 3^s / (s + 1)), s = 3..0
  EXPECT_EQ(crc32("abc_12"), 3512811043u);                   // binascii.crc32(b"abc_12")
  int64_t b = hyperband_bracket("abc", 12, budgets);
  EXPECT_EQ(b, 3512811043u % 49 < 27 ? 0 : 3512811043u % 49 < 39 ? 1 : 3512811043u % 49 < 45 ? 2 : 3);
}

TEST(HpoPruners, PatientNoImprovement) {
  double v[] = {1.0, 0.5, 0.6, 0.55};
  EXPECT_TRUE(patient_no_improvement(v, 4, 1, 0.0, false));   // 0.5 before, best after 0.55
  EXPECT_FALSE(patient_no_improvement(v, 4, 2, 0.0, false));  // 0.5 is inside the last 3
  EXPECT_FALSE(patient_no_improvement(v, 4, 3, 0.0, false));  // not enough reports
  EXPECT_TRUE(patient_no_improvement(v, 4, 1, 0.1, true));    // max 1.0 before, 0.6 after
  EXPECT_FALSE(patient_no_improvement(v, 4, 1, 0.1, false));  // 0.55 is within min_delta of 0.5
}

TEST(HpoPruners, WilcoxonAsScipy) {
  double d[] = {0.5, 1.2, -0.3, 0.8, 2.0};  // no ties: exact; r_plus = 14 of 15
  // scipy.stats.wilcoxon(d, alternative="greater", zero_method="zsplit").pvalue = 2/32
  EXPECT_DOUBLE_EQ(wilcoxon_signed_rank_pvalue(d, 5, true), 2.0 / 32.0);
  EXPECT_DOUBLE_EQ(wilcoxon_signed_rank_pvalue(d, 5, false), 31.0 / 32.0);
  double nan_d[] = {1.0, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW(wilcoxon_signed_rank_pvalue(nan_d, 2, true), aimass::ValueError);
}
