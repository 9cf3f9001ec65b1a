#include "hpo/cmaes.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "hpo/evo_rng.h"

namespace aimass::hpo {
namespace {

constexpr double kEps = 1e-8, kSigmaMax = 1e32, kTolXUp = 1e4, kTolFun = 1e-12, kTolCondition = 1e14;
constexpr double kStateMagic = 20260604.0;  // first element of a saved state
constexpr int kHeader = 14;

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// out [n] = a [n, n] @ v [n]
void matvec(const std::vector<double>& a, const std::vector<double>& v, std::vector<double>& out, int64_t n) {
  out.assign(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += a[i * n + j] * v[j];
    out[i] = s;
  }
}

}  // namespace

void symmetric_eigen(const double* a_in, int64_t n, std::vector<double>& eigenvalues, std::vector<double>& vectors) {
  std::vector<double> a(a_in, a_in + n * n);
  vectors.assign(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) vectors[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (int64_t i = 0; i < n; ++i) {
      diag += a[i * n + i] * a[i * n + i];
      for (int64_t j = i + 1; j < n; ++j) off += a[i * n + j] * a[i * n + j];
    }
    if (off <= 1e-30 * diag || off == 0.0) break;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a[p * n + q];
        if (apq == 0.0) continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // columns p, q of a
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // rows p, q
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = vectors[k * n + p], vkq = vectors[k * n + q];
          vectors[k * n + p] = c * vkp - s * vkq;
          vectors[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  eigenvalues.resize(n);
  for (int64_t i = 0; i < n; ++i) eigenvalues[i] = a[i * n + i];
}

CmaEs::CmaEs(const double* mean, int64_t dim, double sigma, const double* lower, const double* upper,
             const CmaEsOptions& o) {
  AM_CHECK(dim >= 1, ValueError, "CMA-ES needs at least one dimension, got ", dim);
  AM_CHECK(sigma > 0 && std::isfinite(sigma), ValueError, "sigma must be a positive finite value, got ", sigma);
  AM_CHECK(!o.separable || dim >= 2, ValueError, "separable CMA-ES needs at least two dimensions, got ", dim);
  dim_ = dim;
  popsize_ = o.popsize > 0 ? o.popsize : 4 + int64_t(std::floor(3.0 * std::log(double(dim))));
  AM_CHECK(popsize_ >= 2, ValueError, "popsize must be at least 2, got ", popsize_);
  separable_ = o.separable;
  lr_adapt_ = o.lr_adapt && !o.separable;
  n_max_resampling_ = o.n_max_resampling >= 0 ? o.n_max_resampling : 10 * dim;
  mean_.assign(mean, mean + dim);
  lower_.assign(lower, lower + dim);
  upper_.assign(upper, upper + dim);
  for (int64_t i = 0; i < dim; ++i)
    AM_CHECK(lower_[i] <= mean_[i] && mean_[i] <= upper_[i], ValueError, "mean[", i, "] = ", mean_[i],
             " is outside its bounds [", lower_[i], ", ", upper_[i], "]");
  sigma_ = sigma;
  tolx_ = 1e-12 * sigma;
  p_sigma_.assign(dim, 0.0);
  pc_.assign(dim, 0.0);
  if (separable_) {
    C_.assign(dim, 1.0);
  } else if (!o.cov.empty()) {
    AM_CHECK(int64_t(o.cov.size()) == dim * dim, ValueError, "cov must be [", dim, ", ", dim, "], got ", o.cov.size(),
             " values");
    C_ = o.cov;
  } else {
    C_.assign(dim * dim, 0.0);
    for (int64_t i = 0; i < dim; ++i) C_[i * dim + i] = 1.0;
  }
  if (lr_adapt_) {
    E_mean_.assign(dim, 0.0);
    E_Sigma_.assign(dim * dim, 0.0);
  }
  set_constants();
  funhist_.assign(2 * funhist_term_, 0.0);
}

void CmaEs::set_constants() {
  const double n = double(dim_), lam = double(popsize_);
  mu_ = popsize_ / 2;
  weights_.assign(popsize_, 0.0);
  double c1_num = 2.0;  // alpha_cov
  if (separable_) {
    double sum = 0;
    for (int64_t i = 0; i < mu_; ++i) sum += weights_[i] = std::log(mu_ + 1.0) - std::log(i + 1.0);
    double sq = 0;
    for (int64_t i = 0; i < mu_; ++i) sq += (weights_[i] /= sum) * weights_[i];
    mu_eff_ = 1.0 / sq;
    c1_ = c1_num / ((n + 1.3) * (n + 1.3) + mu_eff_);
    double cmu_full = 2.0 / mu_eff_ / ((n + std::sqrt(2.0)) * (n + std::sqrt(2.0))) +
                      (1.0 - 1.0 / mu_eff_) * std::min(1.0, (2.0 * mu_eff_ - 1.0) / ((n + 2) * (n + 2) + mu_eff_));
    cmu_ = (n + 2.0) / 3.0 * cmu_full;
    c_sigma_ = (mu_eff_ + 2.0) / (n + mu_eff_ + 3.0);
    cc_ = 4.0 / (n + 4.0);
  } else {
    std::vector<double> wp(popsize_);
    for (int64_t i = 0; i < popsize_; ++i) wp[i] = std::log((lam + 1.0) / 2.0) - std::log(i + 1.0);
    auto eff = [&](int64_t a, int64_t b) {
      double s = 0, sq = 0;
      for (int64_t i = a; i < b; ++i) s += wp[i], sq += wp[i] * wp[i];
      return s * s / sq;
    };
    mu_eff_ = eff(0, mu_);
    double mu_eff_minus = eff(mu_, popsize_);
    c1_ = c1_num / ((n + 1.3) * (n + 1.3) + mu_eff_);
    cmu_ = std::min(1.0 - c1_ - 1e-8, c1_num * (mu_eff_ - 2.0 + 1.0 / mu_eff_) /
                                          ((n + 2.0) * (n + 2.0) + c1_num * mu_eff_ / 2.0));
    double min_alpha = std::min({1.0 + c1_ / cmu_, 1.0 + 2.0 * mu_eff_minus / (mu_eff_ + 2.0),
                                 (1.0 - c1_ - cmu_) / (n * cmu_)});
    double pos = 0, neg = 0;
    for (double w : wp) (w > 0 ? pos : neg) += std::fabs(w);
    for (int64_t i = 0; i < popsize_; ++i) weights_[i] = wp[i] >= 0 ? wp[i] / pos : min_alpha / neg * wp[i];
    c_sigma_ = (mu_eff_ + 2.0) / (n + mu_eff_ + 5.0);
    cc_ = (4.0 + mu_eff_ / n) / (n + 4.0 + 2.0 * mu_eff_ / n);
  }
  d_sigma_ = 1.0 + 2.0 * std::max(0.0, std::sqrt((mu_eff_ - 1.0) / (n + 1.0)) - 1.0) + c_sigma_;
  chi_n_ = std::sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
  funhist_term_ = 10 + int64_t(std::ceil(30.0 * n / lam));
}

void CmaEs::decompose() {
  if (decomposed_) return;
  const int64_t n = dim_;
  D_.resize(n);
  if (separable_) {
    for (int64_t i = 0; i < n; ++i) D_[i] = std::sqrt(C_[i] < 0 ? kEps : C_[i]);
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) C_[i * n + j] = C_[j * n + i] = 0.5 * (C_[i * n + j] + C_[j * n + i]);
    std::vector<double> ev;
    symmetric_eigen(C_.data(), n, ev, B_);
    for (int64_t i = 0; i < n; ++i) D_[i] = std::sqrt(ev[i] < 0 ? kEps : ev[i]);
    for (int64_t i = 0; i < n; ++i)  // C = B D^2 B^T, so C matches its (repaired) decomposition
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n; ++k) s += B_[i * n + k] * D_[k] * D_[k] * B_[j * n + k];
        C_[i * n + j] = s;
      }
  }
  decomposed_ = true;
}

std::vector<double> CmaEs::ask(uint64_t seed) {
  decompose();
  EvoRng rng(seed);
  const int64_t n = dim_;
  std::vector<double> z(n), x(n);
  auto sample = [&] {
    for (auto& v : z) v = rng.normal();
    for (int64_t i = 0; i < n; ++i) {
      double y = 0;
      if (separable_) y = D_[i] * z[i];
      else
        for (int64_t k = 0; k < n; ++k) y += B_[i * n + k] * D_[k] * z[k];
      x[i] = mean_[i] + sigma_ * y;
    }
  };
  auto feasible = [&] {
    for (int64_t i = 0; i < n; ++i)
      if (x[i] < lower_[i] || x[i] > upper_[i]) return false;
    return true;
  };
  for (int64_t r = 0; r < n_max_resampling_; ++r) {
    sample();
    if (feasible()) return x;
  }
  sample();
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], lower_[i], upper_[i]);
  return x;
}

void CmaEs::tell(const double* x, const double* values, int64_t count) {
  AM_CHECK(count == popsize_, ValueError, "CMA-ES tell needs popsize = ", popsize_, " solutions, got ", count);
  const int64_t n = dim_, lam = popsize_;
  for (int64_t k = 0; k < lam; ++k) AM_CHECK(!std::isnan(values[k]), ValueError, "value of solution ", k, " is NaN");
  ++generation_;
  std::vector<int64_t> order(lam);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return values[a] < values[b]; });
  int64_t fh = 2 * (generation_ % funhist_term_);
  funhist_[fh] = values[order.front()];
  funhist_[fh + 1] = values[order.back()];

  decompose();
  decomposed_ = false;
  std::vector<double> old_mean, old_Sigma, old_invsqrtC;
  double old_sigma = sigma_;
  std::vector<double> invsqrtC;  // C^-1/2 = B D^-1 B^T  [n, n] (full only)
  if (!separable_) {
    invsqrtC.assign(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t k = 0; k < n; ++k) s += B_[i * n + k] / D_[k] * B_[j * n + k];
        invsqrtC[i * n + j] = s;
      }
  }
  if (lr_adapt_) {
    old_mean = mean_;
    old_Sigma = C_;
    for (double& v : old_Sigma) v *= sigma_ * sigma_;
    old_invsqrtC = invsqrtC;
  }

  std::vector<double> y(lam * n), yw(n, 0.0);  // y [lam, n] sorted by value
  for (int64_t r = 0; r < lam; ++r)
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = (x[order[r] * n + i] - mean_[i]) / sigma_;
  for (int64_t r = 0; r < mu_; ++r)
    for (int64_t i = 0; i < n; ++i) yw[i] += weights_[r] * y[r * n + i];
  for (int64_t i = 0; i < n; ++i) mean_[i] += sigma_ * yw[i];

  std::vector<double> cy(n);  // C^-1/2 y_w
  if (separable_)
    for (int64_t i = 0; i < n; ++i) cy[i] = yw[i] / D_[i];
  else
    matvec(invsqrtC, yw, cy, n);
  double ks = std::sqrt(c_sigma_ * (2.0 - c_sigma_) * mu_eff_);
  for (int64_t i = 0; i < n; ++i) p_sigma_[i] = (1.0 - c_sigma_) * p_sigma_[i] + ks * cy[i];
  double norm_ps = norm(p_sigma_);
  sigma_ = std::min(sigma_ * std::exp(c_sigma_ / d_sigma_ * (norm_ps / chi_n_ - 1.0)), kSigmaMax);

  double h_left = norm_ps / std::sqrt(1.0 - std::pow(1.0 - c_sigma_, 2.0 * double(generation_ + 1)));
  double h_sigma = h_left < (1.4 + 2.0 / (n + 1.0)) * chi_n_ ? 1.0 : 0.0;
  double kc = h_sigma * std::sqrt(cc_ * (2.0 - cc_) * mu_eff_);
  for (int64_t i = 0; i < n; ++i) pc_[i] = (1.0 - cc_) * pc_[i] + kc * yw[i];
  double dh = (1.0 - h_sigma) * cc_ * (2.0 - cc_);
  double wsum = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  double decay = 1.0 + c1_ * dh - c1_ - cmu_ * wsum;

  if (separable_) {
    for (int64_t i = 0; i < n; ++i) {
      double rank_mu = 0;
      for (int64_t r = 0; r < mu_; ++r) rank_mu += weights_[r] * y[r * n + i] * y[r * n + i];
      C_[i] = decay * C_[i] + c1_ * pc_[i] * pc_[i] + cmu_ * rank_mu;
    }
    return;
  }
  std::vector<double> w_io(lam), tmp, yk(n);
  for (int64_t r = 0; r < lam; ++r) {
    if (weights_[r] >= 0) { w_io[r] = weights_[r]; continue; }
    std::copy(y.begin() + r * n, y.begin() + (r + 1) * n, yk.begin());
    matvec(invsqrtC, yk, tmp, n);
    double sq = 0;
    for (double v : tmp) sq += v * v;
    w_io[r] = weights_[r] * double(n) / (sq + kEps);
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double rank_mu = 0;
      for (int64_t r = 0; r < lam; ++r) rank_mu += w_io[r] * y[r * n + i] * y[r * n + j];
      C_[i * n + j] = decay * C_[i * n + j] + c1_ * pc_[i] * pc_[j] + cmu_ * rank_mu;
    }
  if (lr_adapt_) lr_adaptation(old_mean, old_sigma, old_Sigma, old_invsqrtC);
}

void CmaEs::lr_adaptation(const std::vector<double>& old_mean, double old_sigma, const std::vector<double>& old_Sigma,
                          const std::vector<double>& old_invsqrtC) {
  const int64_t n = dim_;
  constexpr double alpha = 1.4, beta_mean = 0.1, beta_Sigma = 0.03, gamma = 0.1;
  std::vector<double> d_mean(n), d_Sigma(n * n), A(n * n);  // A = old Sigma^-1/2
  for (int64_t i = 0; i < n; ++i) d_mean[i] = mean_[i] - old_mean[i];
  for (int64_t i = 0; i < n * n; ++i) {
    d_Sigma[i] = sigma_ * sigma_ * C_[i] - old_Sigma[i];
    A[i] = old_invsqrtC[i] / old_sigma;
  }
  std::vector<double> loc_mean, AD(n * n, 0.0), loc_Sigma(n * n, 0.0);
  matvec(A, d_mean, loc_mean, n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j) AD[i * n + j] += A[i * n + k] * d_Sigma[k * n + j];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < n; ++k)
      for (int64_t j = 0; j < n; ++j) loc_Sigma[i * n + j] += AD[i * n + k] * A[k * n + j] / std::sqrt(2.0);
  double nm = 0, ns = 0, em = 0, es = 0;
  for (int64_t i = 0; i < n; ++i) {
    E_mean_[i] = (1 - beta_mean) * E_mean_[i] + beta_mean * loc_mean[i];
    nm += loc_mean[i] * loc_mean[i];
    em += E_mean_[i] * E_mean_[i];
  }
  for (int64_t i = 0; i < n * n; ++i) {
    E_Sigma_[i] = (1 - beta_Sigma) * E_Sigma_[i] + beta_Sigma * loc_Sigma[i];
    ns += loc_Sigma[i] * loc_Sigma[i];
    es += E_Sigma_[i] * E_Sigma_[i];
  }
  V_mean_ = (1 - beta_mean) * V_mean_ + beta_mean * nm;
  V_Sigma_ = (1 - beta_Sigma) * V_Sigma_ + beta_Sigma * ns;
  double snr_mean = (em - beta_mean / (2 - beta_mean) * V_mean_) / (V_mean_ - em);
  double snr_Sigma = (es - beta_Sigma / (2 - beta_Sigma) * V_Sigma_) / (V_Sigma_ - es);
  double before_eta_mean = eta_mean_;
  double rel_mean = std::clamp(snr_mean / alpha / eta_mean_ - 1.0, -1.0, 1.0);
  eta_mean_ = std::min(1.0, eta_mean_ * std::exp(std::min(gamma * eta_mean_, beta_mean) * rel_mean));
  double rel_Sigma = std::clamp(snr_Sigma / alpha / eta_Sigma_ - 1.0, -1.0, 1.0);
  eta_Sigma_ = std::min(1.0, eta_Sigma_ * std::exp(std::min(gamma * eta_Sigma_, beta_Sigma) * rel_Sigma));
  for (int64_t i = 0; i < n; ++i) mean_[i] = old_mean[i] + eta_mean_ * d_mean[i];
  std::vector<double> Sigma(n * n), ev, vec;
  for (int64_t i = 0; i < n * n; ++i) Sigma[i] = old_Sigma[i] + eta_Sigma_ * d_Sigma[i];
  symmetric_eigen(Sigma.data(), n, ev, vec);
  double logsum = 0;
  for (double e : ev) logsum += std::log(e);
  sigma_ = std::min(std::exp(logsum / 2.0 / double(n)), kSigmaMax);
  for (int64_t i = 0; i < n * n; ++i) C_[i] = Sigma[i] / (sigma_ * sigma_);
  sigma_ *= before_eta_mean / eta_mean_;
  decomposed_ = false;
}

bool CmaEs::should_stop() {
  decompose();
  const int64_t n = dim_;
  if (generation_ > funhist_term_) {
    auto [lo, hi] = std::minmax_element(funhist_.begin(), funhist_.end());
    if (*hi - *lo < kTolFun) return true;
  }
  std::vector<double> dC(n);
  for (int64_t i = 0; i < n; ++i) dC[i] = separable_ ? C_[i] : C_[i * n + i];
  bool tiny = true;
  for (int64_t i = 0; i < n; ++i) tiny = tiny && sigma_ * dC[i] < tolx_ && sigma_ * pc_[i] < tolx_;
  if (tiny) return true;
  double dmax = *std::max_element(D_.begin(), D_.end()), dmin = *std::min_element(D_.begin(), D_.end());
  if (sigma_ * dmax > kTolXUp) return true;
  for (int64_t i = 0; i < n; ++i)
    if (mean_[i] == mean_[i] + 0.2 * sigma_ * std::sqrt(dC[i])) return true;
  int64_t ax = generation_ % n;
  bool no_effect = true;
  for (int64_t i = 0; i < n; ++i) {
    double b = separable_ ? 1.0 : B_[i * n + ax];
    no_effect = no_effect && mean_[i] == mean_[i] + 0.1 * sigma_ * D_[ax] * b;
  }
  if (no_effect) return true;
  return dmax / dmin > kTolCondition;
}

std::vector<double> CmaEs::state() const {
  std::vector<double> s = {kStateMagic, 1.0, double(dim_), double(popsize_), double(separable_), double(lr_adapt_),
                           double(n_max_resampling_), double(generation_), sigma_, tolx_, V_mean_, V_Sigma_,
                           eta_mean_, eta_Sigma_};
  for (const auto* v : {&mean_, &p_sigma_, &pc_, &C_, &lower_, &upper_, &funhist_, &E_mean_, &E_Sigma_})
    s.insert(s.end(), v->begin(), v->end());
  return s;
}

CmaEs CmaEs::from_state(const double* s, int64_t size) {
  AM_CHECK(size >= kHeader && s[0] == kStateMagic && s[1] == 1.0, ValueError, "not a saved CMA-ES state");
  CmaEs c;
  c.dim_ = int64_t(s[2]);
  c.popsize_ = int64_t(s[3]);
  c.separable_ = s[4] != 0;
  c.lr_adapt_ = s[5] != 0;
  c.n_max_resampling_ = int64_t(s[6]);
  c.generation_ = int64_t(s[7]);
  c.sigma_ = s[8];
  c.tolx_ = s[9];
  c.V_mean_ = s[10];
  c.V_Sigma_ = s[11];
  c.eta_mean_ = s[12];
  c.eta_Sigma_ = s[13];
  c.set_constants();
  const int64_t n = c.dim_, nc = c.separable_ ? n : n * n, nl = c.lr_adapt_ ? n : 0;
  int64_t expected = kHeader + 5 * n + nc + 2 * c.funhist_term_ + nl + nl * nl;
  AM_CHECK(size == expected, ValueError, "saved CMA-ES state has ", size, " values, expected ", expected);
  const double* p = s + kHeader;
  auto take = [&](std::vector<double>& v, int64_t k) { v.assign(p, p + k); p += k; };
  take(c.mean_, n); take(c.p_sigma_, n); take(c.pc_, n); take(c.C_, nc); take(c.lower_, n); take(c.upper_, n);
  take(c.funhist_, 2 * c.funhist_term_); take(c.E_mean_, nl); take(c.E_Sigma_, nl * nl);
  return c;
}

void cma_warm_start(const double* x, const double* values, int64_t n, int64_t dim, double gamma, double alpha,
                    std::vector<double>& mean, double& sigma, std::vector<double>& cov) {
  AM_CHECK(n >= 1, ValueError, "warm start needs at least one source solution");
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return values[a] < values[b]; });
  int64_t top = int64_t(std::floor(double(n) * gamma));
  AM_CHECK(top >= 1, ValueError, "warm start selects the top ", gamma * 100, "% of ", n,
           " source solutions: none; give at least ", int64_t(std::ceil(1.0 / gamma)));
  mean.assign(dim, 0.0);
  std::vector<double> Sigma(dim * dim, 0.0);
  for (int64_t r = 0; r < top; ++r)
    for (int64_t i = 0; i < dim; ++i) {
      mean[i] += x[order[r] * dim + i] / double(top);
      for (int64_t j = 0; j < dim; ++j)
        Sigma[i * dim + j] += x[order[r] * dim + i] * x[order[r] * dim + j] / double(top);
    }
  for (int64_t i = 0; i < dim; ++i)
    for (int64_t j = 0; j < dim; ++j) Sigma[i * dim + j] += (i == j ? alpha * alpha : 0.0) - mean[i] * mean[j];
  std::vector<double> ev, vec;
  symmetric_eigen(Sigma.data(), dim, ev, vec);
  double logdet = 0;
  for (double e : ev) logdet += std::log(e);
  sigma = std::exp(logdet / 2.0 / double(dim));
  cov = Sigma;
  for (double& v : cov) v /= std::exp(logdet / double(dim));
}

}  // namespace aimass::hpo
