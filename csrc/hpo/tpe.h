// TPE (tree-structured Parzen estimator), the proposal step of Optuna's TPESampler.
//
// What the sampler does for one trial (Python glue: python/aimass/hpo/samplers/_tpe.py):
//   1. Until n_startup_trials trials are COMPLETE or PRUNED, sample at random (RandomSampler).
//   2. Split the finished trials (and, with constant_liar, the running ones) into "below" (good)
//      and "above" (the rest), n_below = gamma(n) with n the finished count (default_gamma:
//      min(ceil(0.1 n), 25); multi-objective: ceil(0.1 n)). Order of filling "below":
//        feasible COMPLETE trials by objective (multi-objective: by Pareto rank, the last rank that
//        does not fit broken by greedy hypervolume subset selection against the reference point
//        max(1.1 w, 0.9 w) of that rank's worst values w), then PRUNED trials by (latest step
//        descending, its intermediate value), then infeasible trials by total constraint violation
//        (sum of positive constraint values). Running trials always go "above".
//   3. Fit l(x) = Parzen estimator of "below" (weights: default_weights over trial number order;
//      uniform for multi-objective) and g(x) = Parzen estimator of "above" (parzen_estimator.h).
//   4. Draw n_ei_candidates points from l and return the one maximising log l(x) - log g(x)
//      (the TPE form of expected improvement). The first maximum wins ties.
// With multivariate=True the joint search space is modelled by one mixture of product kernels
// (one call per trial); otherwise each parameter on its own (one call per parameter).
// This file holds steps 3 and 4; the split (2) is a few array operations on the cached values
// (python/aimass/hpo/samplers/_tpe_observations.py keeps every finished trial's internal values
// in arrays, appended as trials finish, in any order).
// Cost per proposal with n finished trials and d parameters: fitting g is O(d n) after a radix
// sort per parameter; evaluating l and g at the candidates is O(n_ei_candidates d n). Exact to
// double rounding except where a kernel's term is provably below exp(-40) of the largest.
// Differences from Optuna: equal observations get their neighbour-gap sigmas in trial order (a
// stable sort; Optuna's argsort leaves that order unspecified), and the random streams differ.
#pragma once
#include <cstdint>
#include <vector>

#include "hpo/parzen_estimator.h"
#include "hpo/rng.h"

namespace aimass::hpo {

// below [nb, d], above [na, d] (internal repr); wb [nb] / wa [na] mixture weights, nullptr for
// default_weights. Writes the chosen candidate to best [d] and returns its log l - log g.
double tpe_propose(const std::vector<ParzenParam>& params, const double* below, int64_t nb, const double* wb,
                   const double* above, int64_t na, const double* wa, const ParzenOptions& options,
                   int64_t n_candidates, Rng& rng, double* best);

}  // namespace aimass::hpo
