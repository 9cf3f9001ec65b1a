#include "hpo/pruners.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace aimass::hpo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// nanmin / nanmax of values[n]; NaN when n == 0 or all are NaN.
double nan_best(const double* values, int64_t n, bool maximize) {
  double best = kNaN;
  for (int64_t i = 0; i < n; ++i) {
    double v = values[i];
    if (std::isnan(v)) continue;
    if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
  }
  return best;
}

}  // namespace

double best_intermediate(const double* values, int64_t n, bool maximize) { return nan_best(values, n, maximize); }

double nan_percentile(const double* values, int64_t n, double q) {
  AM_CHECK(q >= 0.0 && q <= 100.0, ValueError, "nan_percentile: q must be in [0, 100], got ", q);
  std::vector<double> v;
  v.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i)
    if (!std::isnan(values[i])) v.push_back(values[i]);
  if (v.empty()) return kNaN;
  // numpy's "linear" method: virtual index (k - 1) * q, its two neighbours, and numpy's _lerp
  // (which interpolates from the nearer end, so that the result is exact at the ends).
  const int64_t k = int64_t(v.size());
  const double vi = double(k - 1) * (q / 100.0);
  int64_t lo = int64_t(std::floor(vi)), hi = lo + 1;
  double gamma = vi - double(lo);
  if (vi >= double(k - 1)) lo = hi = k - 1;
  std::sort(v.begin(), v.end());
  const double a = v[size_t(lo)], b = v[size_t(hi)], diff = b - a;
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

bool is_first_in_interval_step(int64_t step, const int64_t* steps, int64_t n, int64_t n_warmup, int64_t interval) {
  AM_CHECK(interval >= 1, ValueError, "interval_steps must be at least 1, got ", interval);
  // Python's floor division: step >= n_warmup here, so the quotient is non-negative.
  int64_t nearest_lower_check = (step - n_warmup) / interval * interval + n_warmup;
  int64_t second_last = -1;
  for (int64_t i = 0; i < n; ++i)
    if (steps[i] > second_last && steps[i] != step) second_last = steps[i];
  return second_last < nearest_lower_check;
}

bool percentile_should_prune(double best, const double* others, int64_t n_others, double percentile,
                             int64_t n_min_trials, bool maximize) {
  if (std::isnan(best)) return true;
  int64_t n_valid = 0;
  for (int64_t i = 0; i < n_others; ++i) n_valid += !std::isnan(others[i]);
  // Optuna counts every reported value (NaN included) against n_min_trials.
  if (n_others < n_min_trials || n_valid == 0) return false;
  double p = nan_percentile(others, n_others, maximize ? 100.0 - percentile : percentile);
  return maximize ? best < p : best > p;
}

int64_t rung_promotion_step(int64_t min_resource, int64_t reduction_factor, int64_t min_early_stopping_rate,
                            int64_t rung) {
  int64_t step = min_resource;
  for (int64_t i = 0; i < min_early_stopping_rate + rung; ++i) {
    if (step > std::numeric_limits<int64_t>::max() / reduction_factor) return std::numeric_limits<int64_t>::max();
    step *= reduction_factor;
  }
  return step;
}

bool asha_promotable(double value, const double* competing, int64_t n, int64_t reduction_factor, bool maximize) {
  AM_CHECK(n >= 1, ValueError, "asha_promotable: competing values must include the trial's own value");
  // The top n / eta are promoted; with fewer than eta values Optuna (which cannot pause a trial to
  // wait for more) promotes the best one.
  int64_t idx = std::max<int64_t>(n / reduction_factor - 1, 0);
  std::vector<double> sorted(competing, competing + n);
  std::sort(sorted.begin(), sorted.end());
  return maximize ? value >= sorted[size_t(n - 1 - idx)] : value <= sorted[size_t(idx)];
}

int64_t hyperband_n_brackets(int64_t min_resource, int64_t max_resource, int64_t reduction_factor) {
  AM_CHECK(min_resource >= 1 && max_resource >= 1 && reduction_factor >= 2, ValueError,
           "hyperband: needs min_resource >= 1, max_resource >= 1 and reduction_factor >= 2, got ", min_resource,
           ", ", max_resource, ", ", reduction_factor);
  // Python's math.log(x, base) is log(x) / log(base) in double: the same rounding (log(243, 3) is
  // 4.999..., 5 brackets and not 6).
  double x = double(max_resource) / double(min_resource);
  return int64_t(std::floor(std::log(x) / std::log(double(reduction_factor)))) + 1;
}

std::vector<int64_t> hyperband_budgets(int64_t n_brackets, int64_t reduction_factor) {
  std::vector<int64_t> budgets;
  for (int64_t b = 0; b < n_brackets; ++b) {
    int64_t s = n_brackets - 1 - b;
    double share = double(n_brackets) * std::pow(double(reduction_factor), double(s)) / double(s + 1);
    budgets.push_back(int64_t(std::ceil(share)));
  }
  return budgets;
}

uint32_t crc32(const std::string& bytes) {
  static const auto table = [] {
    std::vector<uint32_t> t(256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : bytes) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

int64_t hyperband_bracket(const std::string& study_name, int64_t trial_number, const std::vector<int64_t>& budgets) {
  int64_t total = 0;
  for (int64_t b : budgets) total += b;
  AM_CHECK(total > 0, ValueError, "hyperband_bracket: the brackets' budgets must add up to more than 0");
  int64_t left = int64_t(crc32(study_name + "_" + std::to_string(trial_number)) % uint64_t(total));
  for (size_t b = 0; b < budgets.size(); ++b) {
    left -= budgets[b];
    if (left < 0) return int64_t(b);
  }
  return int64_t(budgets.size()) - 1;  // unreachable: left < total
}

std::vector<int64_t> hyperband_brackets(const std::string& study_name, int64_t n_trials,
                                        const std::vector<int64_t>& budgets) {
  std::vector<int64_t> out(size_t(std::max<int64_t>(n_trials, 0)));
  for (int64_t i = 0; i < n_trials; ++i) out[size_t(i)] = hyperband_bracket(study_name, i, budgets);
  return out;
}

bool patient_no_improvement(const double* values, int64_t n, int64_t patience, double min_delta, bool maximize) {
  AM_CHECK(patience >= 0, ValueError, "patience cannot be negative but got ", patience);
  if (n <= patience + 1) return false;
  int64_t split = n - patience - 1;
  double before = nan_best(values, split, maximize), after = nan_best(values + split, n - split, maximize);
  // NaN on either side compares false: no pruning, as numpy's NaN from an all-NaN nanmin.
  return maximize ? before - min_delta > after : before + min_delta < after;
}

double wilcoxon_signed_rank_pvalue(const double* diffs, int64_t n, bool greater) {
  AM_CHECK(n >= 1, ValueError, "wilcoxon: needs at least one difference");
  for (int64_t i = 0; i < n; ++i) AM_CHECK(std::isfinite(diffs[i]), ValueError, "wilcoxon: diffs must be finite");
  // Average ranks of |d| (zeros included: zsplit gives half of each zero's rank to either side).
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return std::fabs(diffs[a]) < std::fabs(diffs[b]); });
  std::vector<double> rank(static_cast<size_t>(n));
  double tie_correct = 0;
  bool has_ties = false;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && std::fabs(diffs[order[size_t(j + 1)]]) == std::fabs(diffs[order[size_t(i)]])) ++j;
    double t = double(j - i + 1);
    for (int64_t k = i; k <= j; ++k) rank[size_t(order[size_t(k)])] = double(i + j) / 2.0 + 1.0;
    tie_correct += t * t * t - t;
    has_ties = has_ties || t > 1;
    i = j + 1;
  }
  auto r_plus_of = [&](uint64_t flips) {  // bit i set: diffs[i] negated
    double r = 0;
    for (int64_t i = 0; i < n; ++i) {
      double d = diffs[i];
      if (d == 0) r += rank[size_t(i)] / 2;
      else if ((d > 0) != bool((flips >> i) & 1)) r += rank[size_t(i)];
    }
    return r;
  };
  const double r_plus = r_plus_of(0);
  bool has_zero = false;
  for (int64_t i = 0; i < n; ++i) has_zero = has_zero || diffs[i] == 0;
  const double nn = double(n);
  if (n <= 50 && !has_ties && !has_zero) {
    // Exact: r_plus is the sum of a uniformly random subset of {1..n}.
    const int64_t max_sum = n * (n + 1) / 2;
    std::vector<double> ways(size_t(max_sum + 1), 0.0);
    ways[0] = 1;
    for (int64_t k = 1; k <= n; ++k)
      for (int64_t s = max_sum; s >= k; --s) ways[size_t(s)] += ways[size_t(s - k)];
    const double total = std::ldexp(1.0, int(n));
    const double mean = nn * (nn + 1) / 4;
    auto cdf = [&](int64_t k) {  // P(T <= k), from the nearer tail as scipy
      if (k < 0) return 0.0;
      k = std::min(k, max_sum);
      double s = 0;
      if (double(k) <= mean) {
        for (int64_t i = 0; i <= k; ++i) s += ways[size_t(i)];
        return s / total;
      }
      for (int64_t i = k + 1; i <= max_sum; ++i) s += ways[size_t(i)];
      return 1.0 - s / total;
    };
    if (greater) return std::clamp(1.0 - cdf(int64_t(std::floor(r_plus)) - 1), 0.0, 1.0);
    return std::clamp(cdf(int64_t(std::ceil(r_plus))), 0.0, 1.0);
  }
  if (n <= 13) {
    // Every sign flip of the differences (2^n, the identity included), scipy's exact permutation test.
    const double gamma = std::fabs(std::numeric_limits<double>::epsilon() * 100 * r_plus);
    uint64_t count = 0, total = uint64_t(1) << n;
    for (uint64_t f = 0; f < total; ++f) {
      double r = r_plus_of(f);
      count += greater ? r >= r_plus - gamma : r <= r_plus + gamma;
    }
    return std::clamp(double(count) / double(total), 0.0, 1.0);
  }
  const double mn = nn * (nn + 1) * 0.25;
  const double se = std::sqrt((nn * (nn + 1) * (2 * nn + 1) - tie_correct / 2) / 24);
  const double z = (r_plus - mn) / se;
  // Normal tails: P(Z >= z) for greater, P(Z <= z) for less.
  return greater ? 0.5 * std::erfc(z / std::sqrt(2.0)) : 0.5 * std::erfc(-z / std::sqrt(2.0));
}

}  // namespace aimass::hpo
