#include "hpo/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "hpo/truncnorm.h"

namespace aimass::hpo {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kEps = 1e-12;

double to_transformed(const ParzenParam& p, double x) { return p.log ? std::log(x) : x; }

}  // namespace

void default_weights(int64_t n, double* w) {
  if (n < 25) {
    std::fill(w, w + n, 1.0);
    return;
  }
  int64_t r = n - 25;  // np.linspace(1 / n, 1, r) then 25 ones
  double start = 1.0 / double(n);
  for (int64_t i = 0; i < r; ++i) w[i] = r == 1 ? start : start + (1.0 - start) * double(i) / double(r - 1);
  std::fill(w + r, w + n, 1.0);
}

ParzenEstimator::ParzenEstimator(std::vector<ParzenParam> params, const double* obs, int64_t n,
                                 const double* weights, const ParzenOptions& o) {
  AM_CHECK(o.prior_weight >= 0, ValueError, "A non-negative value must be specified for prior_weight, but got ",
           o.prior_weight, ".");
  int64_t d = int64_t(params.size());
  // mixture weights
  log_w_.resize(n + 1);
  if (n == 0) {
    log_w_[0] = 1.0;
  } else {
    if (weights) std::copy(weights, weights + n, log_w_.begin());
    else default_weights(n, log_w_.data());
    log_w_[n] = o.prior_weight;
  }
  double total = std::accumulate(log_w_.begin(), log_w_.end(), 0.0);
  AM_CHECK(total > 0, ValueError, "the Parzen estimator's weights sum to ", total, "; they must be positive");
  cum_w_.resize(n + 1);
  double c = 0;
  for (int64_t k = 0; k <= n; ++k) {
    c += log_w_[k] / total;
    cum_w_[k] = c;
    log_w_[k] = std::log(log_w_[k] / total);
  }
  cum_w_[n] = 1.0;
  dims_.resize(d);
  for (int64_t j = 0; j < d; ++j) {
    dims_[j].p = params[j];
    if (params[j].categorical) fit_categorical(dims_[j], obs, n, d, j, o);
    else fit_numerical(dims_[j], obs, n, d, j, o);
  }
}

void ParzenEstimator::fit_numerical(Dim& dim, const double* obs, int64_t n, int64_t d, int64_t j,
                                    const ParzenOptions& o) {
  const ParzenParam& p = dim.p;
  double lo = p.low, hi = p.high;
  if (p.step > 0) lo -= p.step / 2, hi += p.step / 2;
  if (p.log) lo = std::log(lo), hi = std::log(hi);
  dim.lo = lo, dim.hi = hi;
  dim.mu.resize(n + 1);
  dim.sigma.resize(n + 1);
  for (int64_t i = 0; i < n; ++i) dim.mu[i] = to_transformed(p, obs[i * d + j]);
  // sigma: the larger gap to the sorted neighbours, the range ends counting as neighbours
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return dim.mu[a] < dim.mu[b]; });
  auto sorted = [&](int64_t s) { return s < 0 ? lo : s >= n ? hi : dim.mu[order[s]]; };  // s in [-1, n]
  double min_sigma = o.consider_magic_clip ? (hi - lo) / std::min(100.0, double(n + 2)) : kEps;
  double max_sigma = hi - lo;
  for (int64_t s = 0; s < n; ++s) {
    double sg = std::max(sorted(s) - sorted(s - 1), sorted(s + 1) - sorted(s));
    if (!o.consider_endpoints && n >= 2) {
      if (s == 0) sg = sorted(1) - sorted(0);
      else if (s == n - 1) sg = sorted(n - 1) - sorted(n - 2);
    }
    dim.sigma[order[s]] = std::clamp(sg, min_sigma, max_sigma);
  }
  dim.mu[n] = 0.5 * (lo + hi);
  dim.sigma[n] = hi - lo;
  int64_t K = n + 1;
  if (p.step == 0) {
    dim.inv_sigma.resize(K);
    dim.log_c.resize(K);
    for (int64_t k = 0; k < K; ++k) {
      double s = dim.sigma[k];
      dim.inv_sigma[k] = 1.0 / s;
      dim.log_c[k] = -std::log(s) - kLogSqrt2Pi - log_gauss_mass((lo - dim.mu[k]) / s, (hi - dim.mu[k]) / s);
    }
    return;
  }
  // stepped: kernels often repeat (same value, clipped sigma): work on the unique (mu, sigma) pairs
  std::vector<int64_t> by(K);
  std::iota(by.begin(), by.end(), 0);
  std::sort(by.begin(), by.end(), [&](int64_t a, int64_t b) {
    return dim.mu[a] != dim.mu[b] ? dim.mu[a] < dim.mu[b] : dim.sigma[a] < dim.sigma[b];
  });
  dim.uniq.resize(K);
  for (int64_t t = 0; t < K; ++t) {
    int64_t k = by[t];
    if (t == 0 || dim.mu[k] != dim.umu.back() || dim.sigma[k] != dim.usigma.back()) {
      dim.umu.push_back(dim.mu[k]);
      dim.usigma.push_back(dim.sigma[k]);
      dim.log_trunc.push_back(log_gauss_mass((lo - dim.mu[k]) / dim.sigma[k], (hi - dim.mu[k]) / dim.sigma[k]));
    }
    dim.uniq[k] = int64_t(dim.umu.size()) - 1;
  }
}

void ParzenEstimator::fit_categorical(Dim& dim, const double* obs, int64_t n, int64_t d, int64_t j,
                                      const ParzenOptions& o) {
  int64_t C = dim.p.n_choices;
  AM_CHECK(C >= 1, ValueError, "a categorical parameter needs at least one choice");
  int64_t K = n + 1;
  if (n == 0) {
    dim.cat_p.assign(C, 1.0 / double(C));
  } else {
    dim.cat_p.assign(K * C, o.prior_weight / double(K));
    for (int64_t i = 0; i < n; ++i) {
      double v = obs[i * d + j];
      AM_CHECK(v >= 0 && v < double(C), ValueError, "categorical observation ", v, " of column ", j,
               " is not a choice index in [0, ", C, ")");
      dim.cat_p[i * C + int64_t(v)] += 1.0;
    }
    for (int64_t k = 0; k < K; ++k) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += dim.cat_p[k * C + c];
      if (s == 0) s = 1;
      for (int64_t c = 0; c < C; ++c) dim.cat_p[k * C + c] /= s;
    }
  }
  dim.cat_logp.resize(dim.cat_p.size());
  for (size_t t = 0; t < dim.cat_p.size(); ++t) dim.cat_logp[t] = std::log(dim.cat_p[t]);
}

void ParzenEstimator::sample(Rng& rng, int64_t size, double* out) const {
  int64_t d = dim();
  for (int64_t i = 0; i < size; ++i) {
    int64_t k = std::upper_bound(cum_w_.begin(), cum_w_.end(), rng.uniform()) - cum_w_.begin();
    k = std::min(k, n_kernels() - 1);
    for (int64_t j = 0; j < d; ++j) {
      const Dim& dm = dims_[j];
      double u = rng.uniform();
      if (dm.p.categorical) {
        const double* row = dm.cat_p.data() + k * dm.p.n_choices;
        int64_t c = 0;
        for (double acc = row[0]; c < dm.p.n_choices - 1 && acc < u; acc += row[++c]) {}
        out[i * d + j] = double(c);
        continue;
      }
      double mu = dm.mu[k], s = dm.sigma[k];
      double x = truncnorm_ppf(u, (dm.lo - mu) / s, (dm.hi - mu) / s) * s + mu;
      x = std::clamp(x, dm.lo, dm.hi);
      if (dm.p.log) x = std::exp(x);
      if (dm.p.step > 0)
        x = std::clamp(dm.p.low + std::round((x - dm.p.low) / dm.p.step) * dm.p.step, dm.p.low, dm.p.high);
      else
        x = std::clamp(x, dm.p.low, dm.p.high);
      out[i * d + j] = x;
    }
  }
}

// acc[i, k] += log of kernel k's mass over candidate i's bin, less its truncation mass.
void ParzenEstimator::add_stepped(const Dim& dm, const double* x, int64_t m, int64_t d, int64_t j,
                                  double* acc) const {
  int64_t K = n_kernels(), U = int64_t(dm.umu.size());
  std::vector<double> mass(U);
  std::vector<int64_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return x[a * d + j] < x[b * d + j]; });
  for (int64_t t = 0; t < m; ++t) {
    int64_t i = order[t];
    double v = x[i * d + j];
    if (t == 0 || v != x[order[t - 1] * d + j]) {  // a new candidate value: its mass under each unique kernel
      double l = v - dm.p.step / 2, r = v + dm.p.step / 2;
      if (dm.p.log) l = std::log(l), r = std::log(r);
      for (int64_t u = 0; u < U; ++u)
        mass[u] = log_gauss_mass((l - dm.umu[u]) / dm.usigma[u], (r - dm.umu[u]) / dm.usigma[u]) - dm.log_trunc[u];
    }
    double* row = acc + i * K;
    for (int64_t k = 0; k < K; ++k) row[k] += mass[dm.uniq[k]];
  }
}

void ParzenEstimator::log_pdf(const double* x, int64_t m, double* out) const {
  int64_t K = n_kernels(), d = dim();
  std::vector<double> acc(m * K);  // [m, K] log weight + log density of each kernel
  for (int64_t i = 0; i < m; ++i) std::copy(log_w_.begin(), log_w_.end(), acc.begin() + i * K);
  for (int64_t j = 0; j < d; ++j) {
    const Dim& dm = dims_[j];
    if (dm.p.categorical) {
      int64_t C = dm.p.n_choices;
      for (int64_t i = 0; i < m; ++i) {
        int64_t c = int64_t(x[i * d + j]);
        AM_CHECK(c >= 0 && c < C, ValueError, "categorical value ", x[i * d + j], " is not a choice index in [0, ", C, ")");
        double* row = acc.data() + i * K;
        if (K == 1 || dm.cat_logp.size() == size_t(C)) {
          for (int64_t k = 0; k < K; ++k) row[k] += dm.cat_logp[c];
        } else {
          for (int64_t k = 0; k < K; ++k) row[k] += dm.cat_logp[k * C + c];
        }
      }
    } else if (dm.p.step > 0) {
      add_stepped(dm, x, m, d, j, acc.data());
    } else {
      const double *mu = dm.mu.data(), *is = dm.inv_sigma.data(), *lc = dm.log_c.data();
      for (int64_t i = 0; i < m; ++i) {
        double t = to_transformed(dm.p, x[i * d + j]);
        double* row = acc.data() + i * K;
        if (!(t >= dm.lo && t <= dm.hi)) {
          std::fill(row, row + K, -INFINITY);
          continue;
        }
        for (int64_t k = 0; k < K; ++k) {
          double z = (t - mu[k]) * is[k];
          row[k] += lc[k] - 0.5 * z * z;
        }
      }
    }
  }
  for (int64_t i = 0; i < m; ++i) {  // log-sum-exp over the kernels
    const double* row = acc.data() + i * K;
    double mx = *std::max_element(row, row + K);
    if (std::isinf(mx) && mx < 0) {
      out[i] = -INFINITY;
      continue;
    }
    double s = 0;
    for (int64_t k = 0; k < K; ++k) {
      double e = row[k] - mx;
      if (e > -40) s += std::exp(e);  // below, exp(e) < 5e-18 of the largest term: skip the call
    }
    out[i] = mx + std::log(s);
  }
}

}  // namespace aimass::hpo
