#include "hpo/parzen_estimator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "hpo/truncnorm.h"

namespace aimass::hpo {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kEps = 1e-12;

double to_transformed(const ParzenParam& p, double x) { return p.log ? std::log(x) : x; }

// Indices 0..n-1 ordered by v ascending, ties by index (stable): an LSD radix sort on the bits of
// the doubles (sign flipped so that unsigned order is numeric order), 8 passes of 8 bits, passes
// whose byte is the same for every key skipped. The above-kernels are thousands: this is the
// fit's largest cost with a comparison sort.
std::vector<int64_t> argsort_stable(const double* v, int64_t n) {
  std::vector<uint64_t> key(n), key2(n);
  std::vector<int64_t> idx(n), idx2(n);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t b;
    std::memcpy(&b, &v[i], sizeof b);
    key[i] = (b >> 63) ? ~b : b | (uint64_t(1) << 63);
    idx[i] = i;
  }
  for (int pass = 0; pass < 8; ++pass) {
    int shift = pass * 8;
    int64_t count[257] = {0};
    for (int64_t i = 0; i < n; ++i) ++count[((key[i] >> shift) & 255) + 1];
    if (n && count[((key[0] >> shift) & 255) + 1] == n) continue;  // one byte value: nothing to move
    for (int c = 0; c < 256; ++c) count[c + 1] += count[c];
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = count[(key[i] >> shift) & 255]++;
      key2[at] = key[i], idx2[at] = idx[i];
    }
    key.swap(key2), idx.swap(idx2);
  }
  return idx;
}

// sum_k exp(row[k] - mx) for row[k] <= mx; terms below exp(-40) (5e-18 of the largest, which is
// 1) are skipped: with many kernels most are far from any one candidate.
double sum_exp(const double* row, int64_t K, double mx) {
  double s = 0;
  for (int64_t k = 0; k < K; ++k) {
    double e = row[k] - mx;
    if (e > -40) s += std::exp(e);
  }
  return s;
}

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
  // advantage_: how much larger than the prior kernel's any kernel's log weight and log density can
  // be, per dimension (an upper bound, +inf when unbounded). log_pdf uses it to skip exact bin masses
  // of kernels that cannot come within exp(-40) of the prior kernel's total.
  advantage_.assign(d + 1, INFINITY);
  advantage_[d] = *std::max_element(log_w_.begin(), log_w_.end()) - log_w_[n];
  for (int64_t j = 0; j < d; ++j) {
    const Dim& dm = dims_[j];
    if (dm.p.categorical) {
      advantage_[j] = std::max(dm.log_hit, std::max(dm.log_miss, dm.log_prior)) - dm.log_prior;
    } else if (dm.p.step == 0) {
      advantage_[j] = *std::max_element(dm.log_c.begin(), dm.log_c.end()) - (dm.log_c[n] - 0.125);
    } else {  // a kernel's mass is at most 1; the prior's over the narrowest bin at least w / sigma phi(1)
      double w = dm.p.log ? std::log((dm.p.high + dm.p.step / 2) / (dm.p.high - dm.p.step / 2)) : dm.p.step;
      double worst_prior = std::log(w / dm.sigma[n]) - 0.5 - kLogSqrt2Pi - dm.log_trunc[dm.uniq[n]];
      advantage_[j] = -*std::min_element(dm.log_trunc.begin(), dm.log_trunc.end()) - worst_prior;
    }
    if (!std::isfinite(advantage_[j])) advantage_[j] = INFINITY;
  }
  if (!std::isfinite(advantage_[d])) advantage_[d] = INFINITY;
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
  std::vector<int64_t> order = argsort_stable(dim.mu.data(), n);  // ties by index: a stable order
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
    double last_s = -1, last_log = 0;  // most sigmas are the clip value: one log for them all
    for (int64_t k = 0; k < K; ++k) {
      double s = dim.sigma[k];
      if (s != last_s) last_s = s, last_log = std::log(s);
      dim.inv_sigma[k] = 1.0 / s;
      dim.log_c[k] = -last_log - kLogSqrt2Pi - log_gauss_mass((lo - dim.mu[k]) / s, (hi - dim.mu[k]) / s);
    }
    return;
  }
  // stepped: kernels often repeat (same value, clipped sigma): work on the unique (mu, sigma) pairs.
  // Walk the kernels by mu (order, then the prior); within a run of equal mu, dedupe the sigmas.
  dim.uniq.resize(K);
  std::vector<int64_t> run;
  auto close_run = [&]() {
    std::sort(run.begin(), run.end(), [&](int64_t a, int64_t b) { return dim.sigma[a] < dim.sigma[b]; });
    for (size_t t = 0; t < run.size(); ++t) {
      int64_t k = run[t];
      if (t == 0 || dim.sigma[k] != dim.sigma[run[t - 1]]) {
        dim.umu.push_back(dim.mu[k]);
        dim.usigma.push_back(dim.sigma[k]);
        dim.log_trunc.push_back(log_gauss_mass((lo - dim.mu[k]) / dim.sigma[k], (hi - dim.mu[k]) / dim.sigma[k]));
        dim.ulog_sigma.push_back(std::log(dim.sigma[k]));
      }
      dim.uniq[k] = int64_t(dim.umu.size()) - 1;
    }
    run.clear();
  };
  for (int64_t s = 0; s < n; ++s) {
    int64_t k = order[s];
    if (!run.empty() && dim.mu[k] != dim.mu[run.back()]) close_run();
    run.push_back(k);
  }
  close_run();
  run.push_back(n);  // the prior kernel on its own
  close_run();
}

void ParzenEstimator::fit_categorical(Dim& dim, const double* obs, int64_t n, int64_t d, int64_t j,
                                      const ParzenOptions& o) {
  // Every observation row holds prior_weight / (n + 1) on each choice plus 1 on its own, so after
  // normalising it has two values only: p_hit on the observed choice, p_miss elsewhere.
  int64_t C = dim.p.n_choices;
  AM_CHECK(C >= 1, ValueError, "a categorical parameter needs at least one choice");
  dim.cat_obs.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    double v = obs[i * d + j];
    AM_CHECK(v >= 0 && v < double(C), ValueError, "categorical observation ", v, " of column ", j,
             " is not a choice index in [0, ", C, ")");
    dim.cat_obs[i] = int32_t(v);
  }
  double base = n ? o.prior_weight / double(n + 1) : 1.0 / double(C);
  double row_sum = base * double(C) + 1.0;
  dim.cat_hit = (base + 1.0) / row_sum, dim.cat_miss = base / row_sum;
  // the prior row (the only one when n = 0): uniform, or all zero when prior_weight is 0
  dim.cat_prior = base > 0 ? 1.0 / double(C) : 0.0;
  dim.log_hit = std::log(dim.cat_hit), dim.log_miss = std::log(dim.cat_miss), dim.log_prior = std::log(dim.cat_prior);
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
        int64_t C = dm.p.n_choices, hit = k < int64_t(dm.cat_obs.size()) ? dm.cat_obs[k] : -1;
        int64_t c = 0;
        auto p = [&](int64_t c) { return hit < 0 ? dm.cat_prior : c == hit ? dm.cat_hit : dm.cat_miss; };
        for (double acc = p(0); c < C - 1 && acc < u; acc += p(++c)) {}
        out[i * d + j] = double(c);
        continue;
      }
      double mu = dm.mu[k], s = dm.sigma[k];
      double x = truncnorm_ppf(u, (dm.lo - mu) / s, (dm.hi - mu) / s) * s + mu;
      x = std::clamp(x, dm.lo, dm.hi);
      if (dm.p.log) x = std::exp(x);
      if (dm.p.step > 0)
        x = std::clamp(dm.p.low + std::nearbyint((x - dm.p.low) / dm.p.step) * dm.p.step, dm.p.low, dm.p.high);
      else
        x = std::clamp(x, dm.p.low, dm.p.high);
      out[i * d + j] = x;
    }
  }
}

// log of the mass of N(0, 1) over [a, b]: the two CDFs subtracted directly where that is exact
// enough (one log instead of log_gauss_mass's two log CDFs), log_gauss_mass in the far tails.
double ParzenEstimator::log_bin_mass(double a, double b) {
  if (b <= 0 && a > -30) {
    double pa = 0.5 * std::erfc(-a * M_SQRT1_2), pb = 0.5 * std::erfc(-b * M_SQRT1_2);
    if (pb - pa > 1e-8 * pb) return std::log(pb - pa);
  } else if (a > 0 && b < 30) {
    double qa = 0.5 * std::erfc(a * M_SQRT1_2), qb = 0.5 * std::erfc(b * M_SQRT1_2);
    if (qa - qb > 1e-8 * qa) return std::log(qa - qb);
  }
  return log_gauss_mass(a, b);
}

void ParzenEstimator::log_pdf(const double* x, int64_t m, double* out) const {
  // Single-threaded on purpose: on the 2 shared cores it is measured on, the thread pool made 10,000
  // trials 1.5x slower; callers parallelise across trials (n_jobs; the binding releases the GIL).
  log_pdf_rows(x, 0, m, out);
}

void ParzenEstimator::log_pdf_rows(const double* x, int64_t i0, int64_t i1, double* out) const {
  int64_t K = n_kernels(), d = dim();
  std::vector<double> row(K);  // log weight + log density of each kernel at one candidate
  std::vector<double> mass;    // stepped dimension: log mass of each unique kernel over the candidate's bin
  for (int64_t i = i0; i < i1; ++i) {
    std::copy(log_w_.begin(), log_w_.end(), row.begin());
    bool outside = false;
    for (int64_t j = 0; j < d && !outside; ++j) {
      const Dim& dm = dims_[j];
      double v = x[i * d + j];
      if (dm.p.categorical) {
        int64_t C = dm.p.n_choices, c = int64_t(v);
        AM_CHECK(v >= 0 && c < C, ValueError, "categorical value ", v, " is not a choice index in [0, ", C, ")");
        const int32_t* ob = dm.cat_obs.data();
        int64_t n_obs = int64_t(dm.cat_obs.size());
        for (int64_t k = 0; k < n_obs; ++k) row[k] += ob[k] == c ? dm.log_hit : dm.log_miss;
        row[K - 1] += dm.log_prior;
      } else if (dm.p.step > 0) {
        double l = v - dm.p.step / 2, r = v + dm.p.step / 2;
        if (dm.p.log) l = std::log(l), r = std::log(r);
        int64_t U = int64_t(dm.umu.size());
        mass.resize(U);
        // A kernel whose mass here is below the prior kernel's by more than 40 plus what it can gain
        // in every other dimension adds < exp(-40) to the sum: its upper bound (b - a) phi(nearest z)
        // stands in for the exact mass, which saves the two erfc of most far kernels.
        int64_t up = dm.uniq[K - 1];
        double ips = 1.0 / dm.usigma[up];
        double prior_mass = log_bin_mass((l - dm.umu[up]) * ips, (r - dm.umu[up]) * ips) - dm.log_trunc[up];
        double gain = 0;
        for (int64_t jj = 0; jj <= d; ++jj)
          if (jj != j) gain += advantage_[jj];
        double cut = prior_mass - 40 - gain, log_width = std::log(r - l) - kLogSqrt2Pi;
        for (int64_t u = 0; u < U; ++u) {
          double is = 1.0 / dm.usigma[u];
          double a = (l - dm.umu[u]) * is, b = (r - dm.umu[u]) * is;
          double z = a > 0 ? a : b < 0 ? -b : 0.0;
          double bound = log_width - dm.ulog_sigma[u] - 0.5 * z * z - dm.log_trunc[u];  // log((b - a) phi(z))
          mass[u] = bound < cut ? bound : log_bin_mass(a, b) - dm.log_trunc[u];
        }
        const int64_t* uq = dm.uniq.data();
        for (int64_t k = 0; k < K; ++k) row[k] += mass[uq[k]];
      } else {
        double t = to_transformed(dm.p, v);
        if (!(t >= dm.lo && t <= dm.hi)) {
          outside = true;
          break;
        }
        const double *mu = dm.mu.data(), *is = dm.inv_sigma.data(), *lc = dm.log_c.data();
        for (int64_t k = 0; k < K; ++k) {
          double z = (t - mu[k]) * is[k];
          row[k] += lc[k] - 0.5 * z * z;
        }
      }
    }
    double mx = outside ? -INFINITY : *std::max_element(row.begin(), row.end());
    if (std::isinf(mx) && mx < 0) {
      out[i] = -INFINITY;
      continue;
    }
    out[i] = mx + std::log(sum_exp(row.data(), K, mx));
  }
}

}  // namespace aimass::hpo
