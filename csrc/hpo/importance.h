// Hyperparameter importances (am.hpo.importance): how much of the objective's behaviour each
// parameter explains, from the COMPLETE trials.
//
// PED-ANOVA (Optuna 5's default, PedAnovaImportanceEvaluator; Watanabe et al., IJCAI 2023): a
// parameter matters when its values among the top trials are distributed differently from its
// values among all (region) trials. Each parameter's values are binned on a grid (am.hpo.importance
// does the binning); ped_anova_divergence fits a Parzen estimator on each histogram and returns the
// Pearson divergence  sum_g p_region(g) * (p_top(g) / p_region(g) - 1)^2  over the grid.
//
//   Parzen estimator on a grid of size G (Optuna's ScottParzenEstimator):
//     numerical: one discretised Gaussian per occupied bin g (weight = its count) with Scott's
//       bandwidth  1.059 * min(IQR / 1.34, std) * N^-0.2  (at least 0.5 / 1.64), plus a prior kernel
//       centred on the grid (sigma = G) of weight prior_weight; each kernel truncated to [0, G-1].
//     categorical: one kernel per occupied choice, (1 at its choice + prior / K everywhere,
//       normalised), plus a uniform prior kernel, mixed by the same weights.
//
// fANOVA (Hutter et al., ICML 2014; Optuna's FanovaImportanceEvaluator): a random forest of
// regression trees is fitted to (parameters -> objective); in each tree, the variance over the
// search space of the prediction marginalised to one parameter (its columns), divided by the tree's
// total variance, is that parameter's share; importances are the shares' mean over trees.
//
//   X is [n, d] row-major (component j of trial i is X[i * d + j]), y is [n], bounds [d, 2]
//   (low, high of each column); groups[k] lists the columns of parameter k (one, or a one-hot
//   categorical's several).
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::hpo {

// Pearson divergence between the Parzen estimators of top_counts[G] and region_counts[G]
// (evaluate_on_local = false: against the uniform distribution over the grid instead).
double ped_anova_divergence(const int64_t* top_counts, const int64_t* region_counts, int64_t grid_size,
                            bool categorical, double prior_weight, bool evaluate_on_local);

// The Parzen estimator's pdf over the grid [0, G) from counts[G] (exposed for the tests).
std::vector<double> parzen_pdf_on_grid(const int64_t* counts, int64_t grid_size, bool categorical,
                                       double prior_weight);

// fANOVA importances, one per group (mean over the trees of marginal variance / total variance).
// Bootstrap samples, every feature considered at every split, best squared-error split at midpoints.
// ValueError when every tree has zero variance (a constant objective).
std::vector<double> fanova_importances(const double* X, const double* y, int64_t n, int64_t d, const double* bounds,
                                       const std::vector<std::vector<int64_t>>& groups, int64_t n_trees,
                                       int64_t max_depth, uint64_t seed);

}  // namespace aimass::hpo
