// Pruners' decisions (Optuna 5.1's semantics): whether a RUNNING trial, given the intermediate
// values it reported so far and those of the other trials, should stop. am.hpo.pruners gathers
// the values from the study (Python) and asks these functions; nothing here knows about studies.
//
//   Example (the median rule at step 7, minimising):
//     best = best_intermediate(my_values, n_mine, /*maximize=*/false);        // nanmin of mine
//     p = nan_percentile(others_at_7, n_others, 50.0);                         // their median
//     prune = std::isnan(best) || best > p;
//
// A trial's steps and values are given as two arrays of the same length n, in any order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace aimass::hpo {

// ---- percentile / median pruner
// The best of values[n] ignoring NaN (nanmax when maximize, else nanmin); NaN when all are NaN.
double best_intermediate(const double* values, int64_t n, bool maximize);

// numpy.nanpercentile(values, q) with the default "linear" method, to the last bit: q in [0, 100],
// NaN ignored; NaN when no value is left.
double nan_percentile(const double* values, int64_t n, double q);

// Whether step (the last reported one) is the first report at or after the latest check point
// n_warmup + k * interval <= step: the previous report (the largest of steps[n] other than step)
// came before that point. Optuna's _is_first_in_interval_step.
bool is_first_in_interval_step(int64_t step, const int64_t* steps, int64_t n, int64_t n_warmup, int64_t interval);

// PercentilePruner once the startup/warmup/interval checks passed: best is the trial's
// best_intermediate, others[n_others] the COMPLETE trials' values at its last step. Prunes when
// best is NaN, or when it is worse than the percentile of others (the (100 - percentile)-th when
// maximising); never when fewer than n_min_trials values (or only NaN) are there to compare.
bool percentile_should_prune(double best, const double* others, int64_t n_others, double percentile,
                             int64_t n_min_trials, bool maximize);

// ---- successive halving (ASHA) and hyperband
// The step at which a trial leaves rung: min_resource * reduction_factor^(min_early_stopping_rate + rung).
int64_t rung_promotion_step(int64_t min_resource, int64_t reduction_factor, int64_t min_early_stopping_rate,
                            int64_t rung);

// Whether value, among competing[n] (every value recorded at this rung, value included), is in the
// top 1 / reduction_factor (the best one while fewer than reduction_factor compete).
bool asha_promotable(double value, const double* competing, int64_t n, int64_t reduction_factor, bool maximize);

// Hyperband's number of brackets: floor(log_eta(max_resource / min_resource)) + 1 (Python's
// math.log(x, eta) rounding), and each bracket's share of trials, ceil(n * eta^s / (s + 1)) with
// s = n_brackets - 1 - bracket.
int64_t hyperband_n_brackets(int64_t min_resource, int64_t max_resource, int64_t reduction_factor);
std::vector<int64_t> hyperband_budgets(int64_t n_brackets, int64_t reduction_factor);

// zlib's crc32 (Python's binascii.crc32) of bytes.
uint32_t crc32(const std::string& bytes);

// The bracket of a trial: crc32("<study name>_<trial number>") mod the total budget, walked
// through the brackets' budgets.
int64_t hyperband_bracket(const std::string& study_name, int64_t trial_number, const std::vector<int64_t>& budgets);

// The brackets of trials 0 .. n_trials - 1 at once.
std::vector<int64_t> hyperband_brackets(const std::string& study_name, int64_t n_trials,
                                        const std::vector<int64_t>& budgets);

// ---- patient pruner
// values[n] sorted by step: whether the best of the last patience + 1 values fails to improve on
// the best before them by more than min_delta (NaN ignored; all-NaN on either side: false).
// False when n <= patience + 1.
bool patient_no_improvement(const double* values, int64_t n, int64_t patience, double min_delta, bool maximize);

// ---- wilcoxon pruner
// One-sided p-value of the Wilcoxon signed-rank test on diffs[n] (paired differences), as
// scipy.stats.wilcoxon(diffs, alternative="greater" or "less", zero_method="zsplit") with its
// method="auto": the exact null distribution for n <= 50 without ties or zeros, an exact
// sign-flip permutation test for n <= 13 otherwise, else the normal approximation with the tie
// correction (no continuity correction). greater: the alternative is median(diffs) > 0.
double wilcoxon_signed_rank_pvalue(const double* diffs, int64_t n, bool greater);

}  // namespace aimass::hpo
