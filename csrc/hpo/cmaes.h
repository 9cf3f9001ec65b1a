// CMA-ES (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016) for am.hpo's CmaEsSampler, the
// same variant as the `cmaes` package Optuna uses: (mu/mu_w, lambda) with active (negative)
// weights, cumulative step-size adaptation, rank-one + rank-mu covariance update; optional
// separable (diagonal) CMA (Ros & Hansen 2008) and learning-rate adaptation (Nomura et al. 2023).
//
// Each generation samples lambda points x_k = m + sigma * B D z_k, z_k ~ N(0, I), where
// C = B D^2 B^T (eigen-decomposition, Jacobi), resampling a point outside the box [lower, upper]
// up to n_max_resampling times and then clipping it. tell() takes the lambda points with their
// (minimised) values and moves:
//   y_k = (x_k - m) / sigma sorted by value,  y_w = sum_{k<mu} w_k y_k,   m += sigma * y_w
//   p_s = (1 - c_s) p_s + sqrt(c_s (2 - c_s) mu_eff) C^-1/2 y_w
//   sigma *= exp(c_s / d_s (|p_s| / E|N(0,I)| - 1))
//   p_c = (1 - c_c) p_c + h_s sqrt(c_c (2 - c_c) mu_eff) y_w
//   C = (1 + c_1 dh - c_1 - c_mu sum w) C + c_1 p_c p_c^T + c_mu sum_k w°_k y_k y_k^T
// with w°_k = w_k for w_k >= 0, w_k n / |C^-1/2 y_k|^2 otherwise. should_stop() is the cmaes
// package's test (flat values, tiny or exploding sigma, no effect of an axis, condition > 1e14),
// which the sampler's IPOP restart uses.
//
// Layout: points are row-major [n, dim]; C is [dim, dim] (full) or [dim] (separable diagonal).
// The whole state is a flat double vector (state() / from_state()) the sampler stores in trials.
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::hpo {

struct CmaEsOptions {
  int64_t popsize = 0;            // 0: 4 + floor(3 ln dim)
  bool separable = false;
  bool lr_adapt = false;
  int64_t n_max_resampling = -1;  // -1: 10 * dim
  std::vector<double> cov;        // initial C [dim, dim]; empty: identity (full CMA only)
};

// Warm start (Nomura et al. 2021, WS-CMA-ES): the top floor(gamma n) source solutions x [n, dim]
// (by value, minimised) give mean = their average and Sigma = alpha^2 I + their covariance;
// sigma = det(Sigma)^(1/2 dim), cov = Sigma / sigma^2.
void cma_warm_start(const double* x, const double* values, int64_t n, int64_t dim, double gamma, double alpha,
                    std::vector<double>& mean, double& sigma, std::vector<double>& cov);

class CmaEs {
 public:
  // mean, lower, upper: [dim]; lower <= mean <= upper; sigma > 0.
  CmaEs(const double* mean, int64_t dim, double sigma, const double* lower, const double* upper,
        const CmaEsOptions& options);

  std::vector<double> ask(uint64_t seed);                     // one point [dim], inside the box
  void tell(const double* x, const double* values, int64_t n);  // x [n = popsize, dim]
  bool should_stop();

  std::vector<double> state() const;
  static CmaEs from_state(const double* state, int64_t size);

  int64_t dim() const { return dim_; }
  int64_t popsize() const { return popsize_; }
  int64_t generation() const { return generation_; }
  double sigma() const { return sigma_; }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& cov() const { return C_; }  // [dim, dim] or [dim]
  bool separable() const { return separable_; }

 private:
  CmaEs() = default;
  void set_constants();  // weights and learning rates from dim_, popsize_, separable_
  void decompose();      // B_, D_ from C_ when stale
  void lr_adaptation(const std::vector<double>& old_mean, double old_sigma,
                     const std::vector<double>& old_Sigma, const std::vector<double>& old_invsqrtC);

  int64_t dim_ = 0, popsize_ = 0, mu_ = 0, n_max_resampling_ = 0, generation_ = 0;
  bool separable_ = false, lr_adapt_ = false;
  std::vector<double> weights_;
  double mu_eff_ = 0, cc_ = 0, c1_ = 0, cmu_ = 0, c_sigma_ = 0, d_sigma_ = 0, chi_n_ = 0;
  std::vector<double> mean_, p_sigma_, pc_, C_, lower_, upper_;
  double sigma_ = 0, tolx_ = 0;
  int64_t funhist_term_ = 0;
  std::vector<double> funhist_;  // [2 * funhist_term]: best and worst value of recent generations
  // learning-rate adaptation
  std::vector<double> E_mean_, E_Sigma_;
  double V_mean_ = 0, V_Sigma_ = 0, eta_mean_ = 1, eta_Sigma_ = 1;
  // eigen-decomposition cache (not part of the state)
  bool decomposed_ = false;
  std::vector<double> B_, D_;  // B [dim, dim] columns are eigenvectors; D [dim] sqrt(eigenvalues)
};

// Symmetric eigen-decomposition by cyclic Jacobi: a [n, n] -> eigenvalues [n], vectors [n, n] (columns).
void symmetric_eigen(const double* a, int64_t n, std::vector<double>& eigenvalues, std::vector<double>& vectors);

}  // namespace aimass::hpo
