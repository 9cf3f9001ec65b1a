// Pareto dominance for several objectives, all minimised (am.hpo turns "maximize" into a minimised
// negative before calling): the ranks behind Study.best_trials, NSGA-II's selection and the
// multi-objective split of TPE, and the hypervolume that scores a front.
//
//   values: [n, m] row-major, n points of m objectives. A point dominates another when it is no
//   worse in every objective and better in at least one. NaN is not allowed (ValueError).
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::hpo {

// rank[i] = 0 for the non-dominated points, 1 for those dominated only by rank-0 points, and so
// on (Deb's fast non-dominated sort; two objectives by a sort and sweep per front). Points equal
// in every objective share a rank. n_below >= 0 stops once that many points are ranked (the rest
// get rank n): NSGA-II and TPE need only the first few fronts.
std::vector<int32_t> pareto_ranks(const double* values, int64_t n, int64_t m, int64_t n_below = -1);

// Indices of the rank-0 points, ascending.
std::vector<int64_t> pareto_front(const double* values, int64_t n, int64_t m);

// The volume dominated by the points and bounded by reference (each point is clipped to it: a
// point worse than the reference in some objective adds nothing). Exact: a sweep for m = 2, slices
// along the last objective for m >= 3 (fine for the tens to hundreds of points of a front).
double hypervolume(const double* points, int64_t n, int64_t m, const double* reference);

// Greedy hypervolume subset selection: k indices of points, each chosen to add the most
// hypervolume to those already chosen (ties to the lowest index). k >= n returns all indices.
std::vector<int64_t> hypervolume_subset(const double* points, int64_t n, int64_t m, int64_t k,
                                        const double* reference);

}  // namespace aimass::hpo
