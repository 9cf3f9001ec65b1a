// NSGA-II (Deb et al. 2002) for am.hpo's NSGAIISampler: the elite selection of the next parents
// and the crossovers that make a child from parents in the transformed search space.
//
// Selection: the population and the previous parents, all objectives minimised, are ranked by
// non-dominated sorting (pareto_ranks); with constraints, Deb's constrained domination: feasible
// points (penalty <= 0) by their objectives first, then infeasible ones ranked by their penalty
// (the sum of positive constraint values), then those without constraint values by objectives.
// Whole fronts are taken while they fit; the front that does not fit is cut by crowding distance,
// largest first. Crowding distance as Optuna defines it: per objective, sort the points; the gap
// between a point's two neighbours (-inf below the minimum, +inf above the maximum,
// inf - inf = 0) divided by the range of the finite values; summed over objectives; an objective
// where all points are equal adds nothing.
//
// Crossovers take parents [n_parents, d] row-major and return one child [d]:
//   uniform:    each gene from parent 0 or 1 (parent 1 with probability swapping_prob)
//   sbx:        simulated binary crossover (Deb & Agrawal) with box-aware spread, eta
//   blx_alpha:  uniform in [min - alpha * diff, max + alpha * diff] per gene
//   spx:        simplex crossover (Tsutsui et al.) of n_parents parents (Optuna: 3), epsilon
//   undx:       unimodal normal distribution crossover (Ono et al.) of 3 parents
//   vsbx:       SBX with the child spread drawn per side (Optuna's VSBX)
// Mutation (of one gene in [lower, upper]): polynomial (Deb's NSGA-II C code, revision 1.1.6), eta.
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::hpo {

// values [n, m] -> distance [n]
std::vector<double> crowding_distance(const double* values, int64_t n, int64_t m);

// Ranks under Deb's constrained domination; penalty [n] (NaN: no constraint values) or nullptr.
std::vector<int32_t> constrained_ranks(const double* values, int64_t n, int64_t m, const double* penalty);

// The k elite indices (k <= n), whole fronts first, the last front cut by crowding distance.
std::vector<int64_t> nsga2_select(const double* values, int64_t n, int64_t m, const double* penalty, int64_t k);

// Crossovers: parents [p, d]; bounds lower/upper [d] (sbx, vsbx use them).
std::vector<double> crossover_uniform(const double* parents, int64_t d, double swapping_prob, uint64_t seed);
std::vector<double> crossover_sbx(const double* parents, int64_t d, const double* lower, const double* upper,
                                  double eta, double use_child_gene_prob, double uniform_crossover_prob,
                                  uint64_t seed);
std::vector<double> crossover_vsbx(const double* parents, int64_t d, double eta, double use_child_gene_prob,
                                   double uniform_crossover_prob, uint64_t seed);
std::vector<double> crossover_blx_alpha(const double* parents, int64_t d, double alpha, uint64_t seed);
std::vector<double> crossover_spx(const double* parents, int64_t n_parents, int64_t d, double epsilon, uint64_t seed);
std::vector<double> crossover_undx(const double* parents, int64_t d, double sigma_xi, double sigma_eta,
                                   uint64_t seed);

double mutation_polynomial(double param, double lower, double upper, double eta, uint64_t seed);

}  // namespace aimass::hpo
