// TPE's Parzen estimator: a mixture of product kernels fitted to the observed parameter vectors,
// one kernel per observation plus a prior kernel (Optuna's _ParzenEstimator, same formulas).
//
//   Observations are in the internal representation: the value for float/int parameters, the
//   choice index for categorical ones; obs is [n, d] row-major (row i = trial i, column j =
//   parameter j). Numerical parameters live in a transformed space: log(x) for log=True, and
//   [low - step/2, high + step/2] for stepped (int or float step) ones. In it, kernel k of
//   dimension j is a Gaussian N(mu_k, sigma_k) truncated to [lo, hi]:
//     mu_k = observation k; sigma_k = the larger gap to its sorted neighbours (the range ends
//     count as neighbours except at the first and last observation, consider_endpoints=False),
//     clipped to [(hi - lo) / min(100, n + 2), hi - lo] (magic clip);
//     the prior kernel: mu = (lo + hi) / 2, sigma = hi - lo.
//   A stepped parameter takes the kernel's mass over its bin [x - step/2, x + step/2]; a
//   categorical one a row of choice probabilities: prior_weight / (n + 1) on every choice plus 1
//   on the observed one, normalised (the prior row is uniform).
//   Mixture weights: weights[k] for the observations (default_weights(n) when none are given:
//   1 for the newest 25, a linear ramp 1/n .. 1 for the older ones), prior_weight for the prior,
//   normalised. With n = 0 the prior alone, weight 1.
// Densities are in the transformed space (no log Jacobian): only ratios l(x) / g(x) are used.
#pragma once
#include <cstdint>
#include <vector>

#include "hpo/rng.h"

namespace aimass::hpo {

struct ParzenParam {
  bool categorical = false;
  int64_t n_choices = 0;                  // categorical
  double low = 0, high = 0, step = 0;     // numerical; step 0 = continuous
  bool log = false;
};

struct ParzenOptions {
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
};

// Optuna's default_weights(n) into w[n].
void default_weights(int64_t n, double* w);

class ParzenEstimator {
 public:
  // obs [n, d]; weights [n] >= 0, or nullptr for default_weights(n).
  ParzenEstimator(std::vector<ParzenParam> params, const double* obs, int64_t n, const double* weights,
                  const ParzenOptions& options);

  int64_t n_kernels() const { return int64_t(log_w_.size()); }
  int64_t dim() const { return int64_t(dims_.size()); }
  // size draws: a kernel by weight, then each coordinate from it -> out [size, d] (internal repr,
  // stepped values rounded to the grid and clipped to [low, high]).
  void sample(Rng& rng, int64_t size, double* out) const;
  // log of the mixture density at x [m, d] -> out [m].
  void log_pdf(const double* x, int64_t m, double* out) const;

 private:
  struct Dim {
    ParzenParam p;
    double lo = 0, hi = 0;                  // transformed bounds
    std::vector<double> mu, sigma;          // [K]
    std::vector<double> inv_sigma, log_c;   // continuous: log_c = -log(sigma sqrt(2 pi)) - log mass(lo, hi)
    std::vector<double> log_trunc;          // stepped: log mass(lo, hi) per unique (mu, sigma)
    std::vector<int64_t> uniq;              // stepped: kernel -> its unique (mu, sigma) pair
    std::vector<double> umu, usigma;        // stepped: the unique pairs
    std::vector<double> ulog_sigma;         // stepped: log of usigma
    std::vector<int32_t> cat_obs;           // categorical: observed choice of each observation kernel
    double cat_hit = 0, cat_miss = 0, cat_prior = 0, log_hit = 0, log_miss = 0, log_prior = 0;
  };
  void fit_numerical(Dim& dim, const double* obs, int64_t n, int64_t d, int64_t j, const ParzenOptions& o);
  void fit_categorical(Dim& dim, const double* obs, int64_t n, int64_t d, int64_t j, const ParzenOptions& o);
  static double log_bin_mass(double a, double b);
  void log_pdf_rows(const double* x, int64_t i0, int64_t i1, double* out) const;  // candidates [i0, i1)

  std::vector<Dim> dims_;
  std::vector<double> log_w_, cum_w_;  // [K]
  std::vector<double> advantage_;      // [d + 1]: per dimension, then the weights (see the constructor)
};

}  // namespace aimass::hpo
