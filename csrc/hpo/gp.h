// Gaussian-process regression and the log expected improvement for am.hpo's GPSampler, as
// Optuna's GPSampler models a study (optuna/_gp):
//
//   Inputs are the trials' parameters normalised to [0, 1] (a categorical one is its choice
//   index). Kernel: Matern 5/2 with automatic relevance determination,
//     k(x, x') = s * (1 + r + r^2 / 3) exp(-r),   r = sqrt(5 * sum_i l_i d_i(x, x')),
//   d_i = (x_i - x'_i)^2 for a numerical parameter and [x_i != x'_i] (Hamming) for a categorical
//   one; l_i are the inverse squared lengthscales, s the kernel scale, plus noise variance v on
//   the diagonal. gp_fit maximises log p(y | l, s, v) + log prior(l, s, v) (Optuna's prior:
//   -sum(0.1 / l + 0.1 l) + Gamma(2, 1) on s + Gamma(1.1, 30) on v) over log l, log s and
//   log(v - v_min) by L-BFGS with the analytic gradient 0.5 tr((a a^T - K^-1) dK), a = K^-1 y.
//   Values y are standardised and maximised.
//
//   Acquisition (maximised): log EI(x) = log E[max(0, f(x) - f0)] = log h(z) + log sigma with
//   z = (mu - f0) / sigma, h(z) = phi(z) + z Phi(z) (computed stably for z << 0, Ament et al.
//   2023), plus, under constraints, sum_c log P(g_c(x) <= 0) from one GP per constraint.
//   gp_optimize_acquisition draws random candidates, keeps the best few (and the given starts),
//   then alternates projected gradient ascent in the continuous parameters with an exhaustive
//   sweep of each discrete or categorical parameter's choices.
//
// Linear algebra: Cholesky and K^-1 by LAPACK (dpotrf, dpotri), solves by BLAS, single-threaded
// (the matrices are a few hundred rows); the preliminary candidates split over the thread pool.
//
// Layout: X [n, d] row-major; one row per trial.
#pragma once
#include <cstdint>
#include <vector>

#include "hpo/truncnorm.h"

namespace aimass::hpo {

struct GpKernelParams {
  std::vector<double> inverse_squared_lengthscales;  // [d]
  double kernel_scale = 1.0;
  double noise_var = 1.0;
};

class GaussianProcess {
 public:
  // X [n, d], y [n], is_categorical [d] (nonzero: Hamming distance). Factorises K + v I.
  GaussianProcess(const double* X, int64_t n, int64_t d, const uint8_t* is_categorical, const double* y,
                  GpKernelParams params);

  // x [k, d] -> mean [k], var [k] (clamped at 0)
  void posterior(const double* x, int64_t k, double* mean, double* var) const;
  // mean and var at one point with their gradients [d] in the numerical parameters (0 for categorical)
  void posterior_grad(const double* x, double& mean, double& var, double* dmean, double* dvar) const;
  // log N(y | 0, K + v I) without the constant -n/2 log(2 pi), as Optuna reports it
  double log_marginal_likelihood() const;

  int64_t n() const { return n_; }
  int64_t d() const { return d_; }
  const GpKernelParams& params() const { return params_; }
  double kernel(const double* a, const double* b) const;

 private:
  int64_t n_, d_;
  std::vector<double> X_, y_;
  std::vector<uint8_t> is_cat_;
  GpKernelParams params_;
  std::vector<double> L_;      // [n, n] lower Cholesky factor of K + v I
  std::vector<double> alpha_;  // [n] (K + v I)^-1 y
};

// Fitted kernel parameters, starting from init (Optuna's warm start; falls back to all-ones).
GpKernelParams gp_fit(const double* X, int64_t n, int64_t d, const uint8_t* is_categorical, const double* y,
                      const GpKernelParams& init, double minimum_noise, bool deterministic_objective,
                      double gtol = 1e-2);

// log E_{x ~ N(0,1)}[max(0, x + z)] and its derivative in z.
double standard_log_ei(double z);
double standard_log_ei_grad(double z);
// log P(N(0,1) <= z): log_ndtr in hpo/truncnorm.h

// One term of the acquisition: objective (log EI over threshold) or constraint (log P(g <= threshold)).
struct AcqTerm {
  const GaussianProcess* gp;
  bool is_constraint;
  double threshold;
};

// Parameter kinds for the search: choices[i] empty -> continuous in [0, 1]; else the normalised
// values the parameter may take (grid of a stepped parameter, 0..k-1 for a categorical one).
// starts [s, d] are extra local-search starts (the best trial). Returns the best x [d] and its value.
std::vector<double> gp_optimize_acquisition(const std::vector<AcqTerm>& terms, int64_t d,
                                            const std::vector<std::vector<double>>& choices, const double* starts,
                                            int64_t n_starts, uint64_t seed, int64_t n_preliminary,
                                            int64_t n_local_search, double tol, double* best_value);

double acquisition_value(const std::vector<AcqTerm>& terms, const double* x);
// the same at k points x [k, d] -> out [k] (batched posteriors, split over the thread pool)
void acquisition_values(const std::vector<AcqTerm>& terms, const double* x, int64_t k, double* out);

}  // namespace aimass::hpo
