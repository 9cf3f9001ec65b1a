#include "hpo/gp.h"

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/parallel.h"
#include "hpo/evo_rng.h"

namespace aimass::hpo {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178, kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtHalfPi = 1.25331413731550025121, kStabilizingNoise = 1e-12;

// Matern 5/2 of a squared scaled distance d2, and its derivative in d2.
inline double matern52(double d2) {
  double r = std::sqrt(5.0 * d2);
  return std::exp(-r) * (5.0 / 3.0 * d2 + r + 1.0);
}
inline double matern52_grad(double d2) {
  double r = std::sqrt(5.0 * d2);
  return -5.0 / 6.0 * (r + 1.0) * std::exp(-r);
}

// In-place lower Cholesky of a [n, n] (LAPACK dpotrf; the upper triangle zeroed); false if not
// positive definite.
bool cholesky(std::vector<double>& a, int64_t n) {
  if (n == 0) return true;
  if (scipy_LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', lapack_int(n), a.data(), lapack_int(n)) != 0) return false;
  for (int64_t i = 0; i < n; ++i) {
    if (!(a[i * n + i] > 0) || !std::isfinite(a[i * n + i])) return false;
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = 0.0;
  }
  return true;
}
void solve_lower(const std::vector<double>& L, int64_t n, double* b) {  // L z = b
  scipy_cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, blasint(n), L.data(), blasint(n), b, 1);
}
void solve_upper_t(const std::vector<double>& L, int64_t n, double* b) {  // L^T x = b
  scipy_cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, blasint(n), L.data(), blasint(n), b, 1);
}

double sq_dist(const double* a, const double* b, const uint8_t* cat, int64_t i) {
  double diff = a[i] - b[i];
  return cat[i] ? (diff != 0.0 ? 1.0 : 0.0) : diff * diff;
}

double erfcx(double x) {  // exp(x^2) erfc(x), x >= 0
  if (x < 25.0) return std::exp(x * x) * std::erfc(x);
  double x2 = 1.0 / (x * x);
  return 1.0 / (x * 1.7724538509055160273) * (1 - 0.5 * x2 + 0.75 * x2 * x2 - 1.875 * x2 * x2 * x2);
}

// 1 - t R(t) with R(t) = Phi(-t) / phi(t) (Mills ratio), t >= 1
double one_minus_t_mills(double t) {
  if (t <= 35.0) return 1.0 - t * kSqrtHalfPi * erfcx(t * kSqrtHalf);
  double u = 1.0 / (t * t);
  return u * (1 - 3 * u + 15 * u * u - 105 * u * u * u);
}

}  // namespace

double standard_log_ei(double z) {
  if (z > -1.0) return std::log(0.5 * z * std::erfc(-z * kSqrtHalf) + std::exp(-0.5 * z * z - kLogSqrt2Pi));
  return -0.5 * z * z - kLogSqrt2Pi + std::log(one_minus_t_mills(-z));
}

double standard_log_ei_grad(double z) {  // Phi(z) / h(z)
  if (z > -1.0) {
    double cdf = 0.5 * std::erfc(-z * kSqrtHalf);
    return cdf / (z * cdf + std::exp(-0.5 * z * z - kLogSqrt2Pi));
  }
  double t = -z;
  return kSqrtHalfPi * erfcx(t * kSqrtHalf) / one_minus_t_mills(t);
}

GaussianProcess::GaussianProcess(const double* X, int64_t n, int64_t d, const uint8_t* is_categorical,
                                 const double* y, GpKernelParams params)
    : n_(n), d_(d), X_(X, X + n * d), y_(y, y + n), is_cat_(is_categorical, is_categorical + d),
      params_(std::move(params)) {
  AM_CHECK(int64_t(params_.inverse_squared_lengthscales.size()) == d, ValueError,
           "inverse_squared_lengthscales must have one value per parameter (", d, "), got ",
           params_.inverse_squared_lengthscales.size());
  SingleThreadedBlas one_blas_thread;
  L_.assign(n * n, 0.0);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b <= a; ++b) L_[a * n + b] = L_[b * n + a] = kernel(&X_[a * d], &X_[b * d]);
  for (int64_t a = 0; a < n; ++a) L_[a * n + a] += params_.noise_var;
  AM_CHECK(cholesky(L_, n), ValueError, "the GP covariance matrix is not positive definite (noise_var=",
           params_.noise_var, ")");
  alpha_ = y_;
  solve_lower(L_, n, alpha_.data());
  solve_upper_t(L_, n, alpha_.data());
}

double GaussianProcess::kernel(const double* a, const double* b) const {
  double d2 = 0;
  for (int64_t i = 0; i < d_; ++i) d2 += params_.inverse_squared_lengthscales[i] * sq_dist(a, b, is_cat_.data(), i);
  return params_.kernel_scale * matern52(d2);
}

void GaussianProcess::posterior(const double* x, int64_t k, double* mean, double* var) const {
  // Kx [k, n] = k(x_r, X_j); mean = Kx a; V = Kx L^-T (rows L^-1 k_r); var = s - |V_r|^2
  std::vector<double> Kx(k * n_);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n_; ++j) Kx[r * n_ + j] = kernel(x + r * d_, &X_[j * d_]);
  scipy_cblas_dgemv(CblasRowMajor, CblasNoTrans, blasint(k), blasint(n_), 1.0, Kx.data(), blasint(n_), alpha_.data(),
                    1, 0.0, mean, 1);
  scipy_cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, blasint(k), blasint(n_), 1.0,
                    L_.data(), blasint(n_), Kx.data(), blasint(n_));
  for (int64_t r = 0; r < k; ++r) {
    double vv = 0;
    for (int64_t j = 0; j < n_; ++j) vv += Kx[r * n_ + j] * Kx[r * n_ + j];
    var[r] = std::max(0.0, params_.kernel_scale - vv);
  }
}

void GaussianProcess::posterior_grad(const double* x, double& mean, double& var, double* dmean, double* dvar) const {
  const double s = params_.kernel_scale;
  std::vector<double> kx(n_), gk(n_);  // k(x, X_j) and dk/dd2
  for (int64_t j = 0; j < n_; ++j) {
    double d2 = 0;
    for (int64_t i = 0; i < d_; ++i)
      d2 += params_.inverse_squared_lengthscales[i] * sq_dist(x, &X_[j * d_], is_cat_.data(), i);
    kx[j] = s * matern52(d2);
    gk[j] = s * matern52_grad(d2);
  }
  std::vector<double> v = kx;  // (K + vI)^-1 k
  solve_lower(L_, n_, v.data());
  double vv = 0;
  for (double t : v) vv += t * t;
  solve_upper_t(L_, n_, v.data());
  mean = 0;
  for (int64_t j = 0; j < n_; ++j) mean += kx[j] * alpha_[j];
  var = std::max(0.0, s - vv);
  for (int64_t i = 0; i < d_; ++i) {
    double gm = 0, gv = 0;
    if (!is_cat_[i]) {
      for (int64_t j = 0; j < n_; ++j) {
        double dk = gk[j] * 2.0 * params_.inverse_squared_lengthscales[i] * (x[i] - X_[j * d_ + i]);
        gm += alpha_[j] * dk;
        gv += v[j] * dk;
      }
    }
    dmean[i] = gm;
    dvar[i] = var > 0 ? -2.0 * gv : 0.0;
  }
}

double GaussianProcess::log_marginal_likelihood() const {
  double logdet = 0, quad = 0;
  for (int64_t i = 0; i < n_; ++i) logdet += std::log(L_[i * n_ + i]), quad += y_[i] * alpha_[i];
  return -logdet - 0.5 * quad;
}

namespace {

// -(log marginal likelihood + log prior) and its gradient in raw = [log l (d), log s, log(v - v_min)].
struct FitLoss {
  const double* X;
  int64_t n, d;
  const uint8_t* cat;
  const double* y;
  double min_noise;
  bool deterministic;

  double operator()(const std::vector<double>& raw, std::vector<double>& grad) const {
    std::vector<double> l(d);
    for (int64_t i = 0; i < d; ++i) l[i] = std::exp(raw[i]);
    double s = std::exp(raw[d]), ev = deterministic ? 0.0 : std::exp(raw[d + 1]), noise = min_noise + ev;
    std::vector<double> K(n * n), M(n * n), Mg(n * n);
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b <= a; ++b) {
        double d2 = 0;
        for (int64_t i = 0; i < d; ++i) d2 += l[i] * sq_dist(X + a * d, X + b * d, cat, i);
        M[a * n + b] = M[b * n + a] = matern52(d2);
        Mg[a * n + b] = Mg[b * n + a] = matern52_grad(d2);
        K[a * n + b] = K[b * n + a] = s * M[a * n + b];
      }
    for (int64_t a = 0; a < n; ++a) K[a * n + a] += noise;
    grad.assign(d + 2, 0.0);
    if (!cholesky(K, n)) return INFINITY;
    double logdet = 0;
    for (int64_t i = 0; i < n; ++i) logdet += std::log(K[i * n + i]);
    // K^-1 (lower triangle, LAPACK dpotri), a = K^-1 y, W = a a^T - K^-1 (full)
    if (scipy_LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', lapack_int(n), K.data(), lapack_int(n)) != 0) return INFINITY;
    std::vector<double> alpha(n), W(n * n);
    scipy_cblas_dsymv(CblasRowMajor, CblasLower, blasint(n), 1.0, K.data(), blasint(n), y, 1, 0.0, alpha.data(), 1);
    double quad = 0;
    for (int64_t i = 0; i < n; ++i) quad += y[i] * alpha[i];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) W[i * n + j] = W[j * n + i] = alpha[i] * alpha[j] - K[i * n + j];
    double tr_w = 0, gs = 0;
    for (int64_t a = 0; a < n; ++a) {
      tr_w += W[a * n + a];
      for (int64_t b = 0; b < n; ++b) gs += W[a * n + b] * s * M[a * n + b];
    }
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < a; ++b) {  // off-diagonal pairs twice (sq_dist is 0 on the diagonal)
        double g = 2.0 * W[a * n + b] * s * Mg[a * n + b];
        for (int64_t i = 0; i < d; ++i) grad[i] += g * sq_dist(X + a * d, X + b * d, cat, i);
      }
    double mll = -logdet - 0.5 * quad, prior = (std::log(s) - s) + (0.1 * std::log(noise) - 30.0 * noise);
    for (int64_t i = 0; i < d; ++i) {
      prior -= 0.1 / l[i] + 0.1 * l[i];
      grad[i] = -(0.5 * grad[i] * l[i]) - (0.1 / l[i] - 0.1 * l[i]);
    }
    grad[d] = -0.5 * gs - (1.0 - s);
    grad[d + 1] = deterministic ? 0.0 : -(0.5 * tr_w * ev) - (0.1 / noise - 30.0) * ev;
    return -(mll + prior);
  }
};

// L-BFGS (memory 10) with a backtracking Armijo line search; stops when max |grad| < gtol or the
// loss stops moving (scipy's ftol test). x is updated in place.
template <typename F>
double lbfgs_minimize(const F& f, std::vector<double>& x, double gtol, int max_iter = 200) {
  const int64_t k = int64_t(x.size()), mem = 10;
  std::vector<double> g, gn, xn(k), dir(k);
  double fx = f(x, g);
  if (!std::isfinite(fx)) return fx;
  std::vector<std::vector<double>> S, Y;
  std::vector<double> rho;
  for (int it = 0; it < max_iter; ++it) {
    double gmax = 0;
    for (double v : g) gmax = std::max(gmax, std::fabs(v));
    if (gmax < gtol) break;
    // two-loop recursion: dir = -H g
    dir = g;
    std::vector<double> al(S.size());
    for (int64_t j = int64_t(S.size()) - 1; j >= 0; --j) {
      double a = 0;
      for (int64_t i = 0; i < k; ++i) a += S[j][i] * dir[i];
      al[j] = a *= rho[j];
      for (int64_t i = 0; i < k; ++i) dir[i] -= a * Y[j][i];
    }
    double gamma = 1.0;
    if (!S.empty()) {
      double sy = 0, yy = 0;
      for (int64_t i = 0; i < k; ++i) sy += S.back()[i] * Y.back()[i], yy += Y.back()[i] * Y.back()[i];
      gamma = sy / yy;
    } else {
      gamma = 1.0 / std::max(1.0, std::sqrt(std::inner_product(g.begin(), g.end(), g.begin(), 0.0)));
    }
    for (auto& v : dir) v *= gamma;
    for (size_t j = 0; j < S.size(); ++j) {
      double b = 0;
      for (int64_t i = 0; i < k; ++i) b += Y[j][i] * dir[i];
      b *= rho[j];
      for (int64_t i = 0; i < k; ++i) dir[i] += S[j][i] * (al[j] - b);
    }
    for (auto& v : dir) v = -v;
    double slope = std::inner_product(g.begin(), g.end(), dir.begin(), 0.0);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      S.clear(), Y.clear(), rho.clear();
      for (int64_t i = 0; i < k; ++i) dir[i] = -g[i] * gamma;
      slope = std::inner_product(g.begin(), g.end(), dir.begin(), 0.0);
    }
    double step = 1.0, fn = INFINITY;
    for (int ls = 0; ls < 40; ++ls, step *= 0.5) {
      for (int64_t i = 0; i < k; ++i) xn[i] = x[i] + step * dir[i];
      fn = f(xn, gn);
      if (std::isfinite(fn) && fn <= fx + 1e-4 * step * slope) break;
    }
    if (!(std::isfinite(fn) && fn <= fx + 1e-4 * step * slope)) break;
    std::vector<double> s(k), yv(k);
    for (int64_t i = 0; i < k; ++i) s[i] = xn[i] - x[i], yv[i] = gn[i] - g[i];
    double sy = std::inner_product(s.begin(), s.end(), yv.begin(), 0.0);
    if (sy > 1e-12) {
      S.push_back(s), Y.push_back(yv), rho.push_back(1.0 / sy);
      if (int64_t(S.size()) > mem) S.erase(S.begin()), Y.erase(Y.begin()), rho.erase(rho.begin());
    }
    bool flat = (fx - fn) <= 2.220446049250313e-09 * std::max({std::fabs(fx), std::fabs(fn), 1.0});
    x = xn, g = gn, fx = fn;
    if (flat) break;
  }
  return fx;
}

}  // namespace

GpKernelParams gp_fit(const double* X, int64_t n, int64_t d, const uint8_t* cat, const double* y,
                      const GpKernelParams& init, double min_noise, bool deterministic, double gtol) {
  AM_CHECK(n >= 1 && d >= 1, ValueError, "gp_fit needs n >= 1 trials of d >= 1 parameters, got n=", n, " d=", d);
  SingleThreadedBlas one_blas_thread;  // small matrices: OpenBLAS's threads would only spin
  FitLoss loss{X, n, d, cat, y, min_noise, deterministic};
  auto raw_of = [&](const GpKernelParams& p) {
    std::vector<double> raw(d + 2);
    for (int64_t i = 0; i < d; ++i) raw[i] = std::log(p.inverse_squared_lengthscales[i]);
    raw[d] = std::log(p.kernel_scale);
    raw[d + 1] = std::log(std::max(p.noise_var - 0.99 * min_noise, 1e-300));
    return raw;
  };
  GpKernelParams ones{std::vector<double>(d, 1.0), 1.0, 1.0};
  bool init_ok = int64_t(init.inverse_squared_lengthscales.size()) == d;
  for (int attempt = init_ok ? 0 : 1; attempt < 2; ++attempt) {
    std::vector<double> raw = raw_of(attempt == 0 ? init : ones);
    double fx = lbfgs_minimize(loss, raw, gtol);
    if (!std::isfinite(fx)) continue;
    GpKernelParams p;
    p.inverse_squared_lengthscales.resize(d);
    for (int64_t i = 0; i < d; ++i) p.inverse_squared_lengthscales[i] = std::exp(raw[i]);
    p.kernel_scale = std::exp(raw[d]);
    p.noise_var = deterministic ? min_noise : min_noise + std::exp(raw[d + 1]);
    return p;
  }
  GpKernelParams p = ones;  // Optuna's fallback: the default parameters
  if (deterministic) p.noise_var = min_noise;
  return p;
}

void acquisition_values(const std::vector<AcqTerm>& terms, const double* x, int64_t k, double* out) {
  std::fill(out, out + k, 0.0);
  if (k == 0) return;
  const int64_t d = terms[0].gp->d();
  SingleThreadedBlas one_blas_thread;  // small matrices: OpenBLAS's threads would only spin
  parallel_for(0, k, 128, [&](int64_t r0, int64_t r1) {
    std::vector<double> m(r1 - r0), v(r1 - r0);
    for (const auto& t : terms) {
      t.gp->posterior(x + r0 * d, r1 - r0, m.data(), v.data());
      for (int64_t r = r0; r < r1; ++r) {
        double sd = std::sqrt(v[r - r0] + kStabilizingNoise), mu = m[r - r0];
        out[r] += t.is_constraint ? log_ndtr((t.threshold - mu) / sd)
                                  : standard_log_ei((mu - t.threshold) / sd) + std::log(sd);
      }
    }
  });
}

double acquisition_value(const std::vector<AcqTerm>& terms, const double* x) {
  double v;
  acquisition_values(terms, x, 1, &v);
  return v;
}

namespace {

double acquisition_grad(const std::vector<AcqTerm>& terms, const double* x, int64_t d, double* grad) {
  std::fill(grad, grad + d, 0.0);
  std::vector<double> dm(d), dv(d);
  double total = 0;
  for (const auto& t : terms) {
    double m, v;
    t.gp->posterior_grad(x, m, v, dm.data(), dv.data());
    double sd = std::sqrt(v + kStabilizingNoise);
    if (t.is_constraint) {
      double w = (t.threshold - m) / sd, lp = log_ndtr(w);
      double dw = std::exp(-0.5 * w * w - kLogSqrt2Pi - lp);  // phi(w) / Phi(w)
      total += lp;
      for (int64_t i = 0; i < d; ++i) {
        double dsd = dv[i] / (2 * sd);
        grad[i] += dw * (-dm[i] / sd - (t.threshold - m) / (sd * sd) * dsd);
      }
    } else {
      double z = (m - t.threshold) / sd, dz_coef = standard_log_ei_grad(z);
      total += standard_log_ei(z) + std::log(sd);
      for (int64_t i = 0; i < d; ++i) {
        double dsd = dv[i] / (2 * sd);
        grad[i] += dz_coef * (dm[i] / sd - (m - t.threshold) / (sd * sd) * dsd) + dsd / sd;
      }
    }
  }
  return total;
}

}  // namespace

std::vector<double> gp_optimize_acquisition(const std::vector<AcqTerm>& terms, int64_t d,
                                            const std::vector<std::vector<double>>& choices, const double* starts,
                                            int64_t n_starts, uint64_t seed, int64_t n_preliminary,
                                            int64_t n_local_search, double tol, double* best_value) {
  AM_CHECK(!terms.empty() && int64_t(choices.size()) == d, ValueError,
           "gp_optimize_acquisition needs at least one term and one choice list per parameter");
  SingleThreadedBlas one_blas_thread;
  EvoRng rng(seed);
  std::vector<double> cand(n_preliminary * d), vals(n_preliminary);
  for (int64_t r = 0; r < n_preliminary; ++r) {
    for (int64_t i = 0; i < d; ++i)
      cand[r * d + i] = choices[i].empty() ? rng.uniform() : choices[i][rng.below(int64_t(choices[i].size()))];
  }
  acquisition_values(terms, cand.data(), n_preliminary, vals.data());
  std::vector<int64_t> order(n_preliminary);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return vals[a] > vals[b]; });

  std::vector<std::vector<double>> inits;
  for (int64_t s = 0; s < n_starts; ++s) inits.emplace_back(starts + s * d, starts + (s + 1) * d);
  for (int64_t r = 0; r < n_preliminary && int64_t(inits.size()) < std::max<int64_t>(n_local_search, 1); ++r)
    inits.emplace_back(&cand[order[r] * d], &cand[order[r] * d] + d);

  std::vector<double> best = inits.back();
  double best_f = -INFINITY;
  std::vector<double> g(d), xn(d);
  std::vector<int64_t> cont;
  for (int64_t i = 0; i < d; ++i)
    if (choices[i].empty()) cont.push_back(i);
  for (auto& x : inits) {
    double fx = acquisition_value(terms, x.data());
    for (int round = 0; round < 20; ++round) {
      double f_round = fx;
      if (!cont.empty()) {  // projected gradient ascent in the continuous parameters
        double eta = 0.1;
        for (int it = 0; it < 100 && eta > 1e-9; ++it) {
          double f0 = acquisition_grad(terms, x.data(), d, g.data());
          bool moved = false;
          while (eta > 1e-9) {
            xn = x;
            double lin = 0;
            for (int64_t i : cont) {
              xn[i] = std::clamp(x[i] + eta * g[i], 0.0, 1.0);
              lin += g[i] * (xn[i] - x[i]);
            }
            if (lin <= 0) { eta = 0; break; }  // at a corner of the box
            double fn = acquisition_value(terms, xn.data());
            if (fn >= f0 + 1e-4 * lin) {
              bool small = fn - f0 < tol * 1e-2;
              x = xn, fx = fn, moved = true, eta *= 2.0;
              if (small) eta = 0;
              break;
            }
            eta *= 0.5;
          }
          if (!moved) break;
        }
      }
      for (int64_t i = 0; i < d; ++i) {  // sweep every choice of the discrete parameters
        if (choices[i].empty()) continue;
        double keep = x[i];
        for (double c : choices[i]) {
          if (c == keep) continue;
          x[i] = c;
          double fn = acquisition_value(terms, x.data());
          if (fn > fx) fx = fn, keep = c;
        }
        x[i] = keep;
      }
      if (fx - f_round < tol) break;
    }
    if (fx > best_f) best_f = fx, best = x;
  }
  if (best_value) *best_value = best_f;
  return best;
}

}  // namespace aimass::hpo
