#include "hpo/nsga2.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "hpo/evo_rng.h"
#include "hpo/pareto.h"

namespace aimass::hpo {

std::vector<double> crowding_distance(const double* v, int64_t n, int64_t m) {
  std::vector<double> dist(n, 0.0);
  if (n == 0) return dist;
  std::vector<int64_t> order(n);
  std::vector<double> vs(n + 2);
  for (int64_t j = 0; j < m; ++j) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a * m + j] < v[b * m + j]; });
    if (v[order.front() * m + j] == v[order.back() * m + j]) continue;
    vs[0] = -INFINITY;
    vs[n + 1] = INFINITY;
    for (int64_t i = 0; i < n; ++i) vs[i + 1] = v[order[i] * m + j];
    double vmin = INFINITY, vmax = -INFINITY;
    for (int64_t i = 1; i <= n; ++i)
      if (std::isfinite(vs[i])) vmin = std::min(vmin, vs[i]), vmax = std::max(vmax, vs[i]);
    double width = vmax - vmin;
    if (!(width > 0)) width = 1.0;
    for (int64_t i = 0; i < n; ++i) {
      double gap = vs[i] == vs[i + 2] ? 0.0 : vs[i + 2] - vs[i];
      dist[order[i]] += gap / width;
    }
  }
  return dist;
}

std::vector<int32_t> constrained_ranks(const double* v, int64_t n, int64_t m, const double* penalty) {
  if (!penalty) return pareto_ranks(v, n, m);
  std::vector<int32_t> ranks(n, -1);
  // three groups ranked one after the other: feasible by objectives, infeasible by penalty,
  // no constraint values by objectives
  std::vector<int64_t> groups[3];
  for (int64_t i = 0; i < n; ++i) groups[std::isnan(penalty[i]) ? 2 : penalty[i] > 0 ? 1 : 0].push_back(i);
  int32_t offset = 0;
  for (int g = 0; g < 3; ++g) {
    const auto& idx = groups[g];
    if (idx.empty()) continue;
    int64_t mm = g == 1 ? 1 : m;
    std::vector<double> sub(idx.size() * mm);
    for (size_t r = 0; r < idx.size(); ++r)
      for (int64_t j = 0; j < mm; ++j) sub[r * mm + j] = g == 1 ? penalty[idx[r]] : v[idx[r] * m + j];
    auto rk = pareto_ranks(sub.data(), int64_t(idx.size()), mm);
    int32_t top = 0;
    for (size_t r = 0; r < idx.size(); ++r) ranks[idx[r]] = offset + rk[r], top = std::max(top, rk[r]);
    offset += top + 1;
  }
  return ranks;
}

std::vector<int64_t> nsga2_select(const double* v, int64_t n, int64_t m, const double* penalty, int64_t k) {
  AM_CHECK(k >= 0, ValueError, "NSGA-II selection size must be >= 0, got ", k);
  auto ranks = constrained_ranks(v, n, m, penalty);
  int32_t max_rank = n ? *std::max_element(ranks.begin(), ranks.end()) : -1;
  std::vector<std::vector<int64_t>> fronts(max_rank + 1);
  for (int64_t i = 0; i < n; ++i) fronts[ranks[i]].push_back(i);
  std::vector<int64_t> elite;
  for (auto& front : fronts) {
    if (int64_t(elite.size() + front.size()) < k) {
      elite.insert(elite.end(), front.begin(), front.end());
      continue;
    }
    std::vector<double> sub(front.size() * m);
    for (size_t r = 0; r < front.size(); ++r)
      for (int64_t j = 0; j < m; ++j) sub[r * m + j] = v[front[r] * m + j];
    auto cd = crowding_distance(sub.data(), int64_t(front.size()), m);
    std::vector<int64_t> order(front.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cd[a] > cd[b]; });
    for (int64_t r = 0; int64_t(elite.size()) < k; ++r) elite.push_back(front[order[r]]);
    break;
  }
  return elite;
}

std::vector<double> crossover_uniform(const double* p, int64_t d, double swapping_prob, uint64_t seed) {
  EvoRng rng(seed);
  std::vector<double> child(d);
  for (int64_t i = 0; i < d; ++i) child[i] = rng.uniform() >= swapping_prob ? p[d + i] : p[i];
  return child;
}

namespace {

// Pick one of the two SBX children gene by gene as Optuna does: the crossed genes c1/c2 with
// probability use_child_gene_prob (else the parents'), swapped with uniform_crossover_prob.
std::vector<double> pick_children(const std::vector<double>& c1, const std::vector<double>& c2, const double* p,
                                  int64_t d, double use_child, double swap, EvoRng& rng) {
  std::vector<double> a(d), b(d);
  for (int64_t i = 0; i < d; ++i) {
    bool child_gene = rng.uniform() < use_child;
    double x = child_gene ? c1[i] : p[i], y = child_gene ? c2[i] : p[d + i];
    if (rng.uniform() >= swap) a[i] = x, b[i] = y;
    else a[i] = y, b[i] = x;
  }
  return rng.uniform() < 0.5 ? a : b;
}

}  // namespace

std::vector<double> crossover_sbx(const double* p, int64_t d, const double* lower, const double* upper, double eta,
                                  double use_child, double swap, uint64_t seed) {
  EvoRng rng(seed);
  std::vector<double> c1(d), c2(d);
  for (int64_t i = 0; i < d; ++i) {
    double lo = std::min(p[i], p[d + i]), hi = std::max(p[i], p[d + i]);
    double diff = std::max(hi - lo, 1e-10);
    double beta1 = 1 + 2 * (lo - lower[i]) / diff, beta2 = 1 + 2 * (upper[i] - hi) / diff;
    double alpha1 = 2 - std::pow(beta1, -(eta + 1)), alpha2 = 2 - std::pow(beta2, -(eta + 1));
    double u = rng.uniform();
    auto betaq = [&](double alpha) {
      return u > 1 / alpha ? std::pow(1 / (2 - u * alpha), 1 / (eta + 1)) : std::pow(u * alpha, 1 / (eta + 1));
    };
    c1[i] = 0.5 * ((lo + hi) - betaq(alpha1) * diff);
    c2[i] = 0.5 * ((lo + hi) + betaq(alpha2) * diff);
  }
  return pick_children(c1, c2, p, d, use_child, swap, rng);
}

std::vector<double> crossover_vsbx(const double* p, int64_t d, double eta, double use_child, double swap,
                                   uint64_t seed) {
  EvoRng rng(seed);
  const double eps = 1e-10;
  std::vector<double> b1(d), b2(d), c1(d), c2(d);
  for (int64_t i = 0; i < d; ++i) {
    double u = rng.uniform();
    b1[i] = std::pow(1 / std::max(2 * u, eps), 1 / (eta + 1));
    b2[i] = std::pow(1 / std::max(2 * (1 - u), eps), 1 / (eta + 1));
  }
  bool first = rng.uniform() <= 0.5;
  for (int64_t i = 0; i < d; ++i)
    c1[i] = first ? 0.5 * ((1 + b1[i]) * p[i] + (1 - b2[i]) * p[d + i])
                  : 0.5 * ((1 - b1[i]) * p[i] + (1 + b2[i]) * p[d + i]);
  bool second = rng.uniform() <= 0.5;
  for (int64_t i = 0; i < d; ++i)
    c2[i] = second ? 0.5 * ((3 - b1[i]) * p[i] - (1 - b2[i]) * p[d + i])
                   : 0.5 * (-(1 - b1[i]) * p[i] + (3 - b2[i]) * p[d + i]);
  return pick_children(c1, c2, p, d, use_child, swap, rng);
}

std::vector<double> crossover_blx_alpha(const double* p, int64_t d, double alpha, uint64_t seed) {
  EvoRng rng(seed);
  std::vector<double> child(d);
  for (int64_t i = 0; i < d; ++i) {
    double lo = std::min(p[i], p[d + i]), hi = std::max(p[i], p[d + i]), diff = alpha * (hi - lo);
    child[i] = (hi - lo + 2 * diff) * rng.uniform() + lo - diff;
  }
  return child;
}

std::vector<double> crossover_spx(const double* p, int64_t np, int64_t d, double epsilon, uint64_t seed) {
  AM_CHECK(np >= 2, ValueError, "SPX crossover needs at least 2 parents, got ", np);
  EvoRng rng(seed);
  std::vector<double> g(d, 0.0), ck(d, 0.0);
  for (int64_t k = 0; k < np; ++k)
    for (int64_t i = 0; i < d; ++i) g[i] += p[k * d + i] / double(np);
  auto xk = [&](int64_t k, int64_t i) { return g[i] + epsilon * (p[k * d + i] - g[i]); };
  for (int64_t k = 1; k < np; ++k) {
    double r = std::pow(rng.uniform(), 1.0 / double(k));
    for (int64_t i = 0; i < d; ++i) ck[i] = r * (xk(k - 1, i) - xk(k, i) + ck[i]);
  }
  std::vector<double> child(d);
  for (int64_t i = 0; i < d; ++i) child[i] = xk(np - 1, i) + ck[i];
  return child;
}

std::vector<double> crossover_undx(const double* p, int64_t d, double sigma_xi, double sigma_eta, uint64_t seed) {
  EvoRng rng(seed);
  const double* x1 = p;
  const double* x2 = p + d;
  const double* x3 = p + 2 * d;
  std::vector<double> e12(d), v123(d), child(d);
  double m12 = 0;
  for (int64_t i = 0; i < d; ++i) e12[i] = x2[i] - x1[i], m12 += e12[i] * e12[i];
  m12 = std::max(std::sqrt(m12), 1e-10);
  for (auto& e : e12) e /= m12;
  std::vector<double> etas(d);
  for (auto& e : etas) e = rng.normal() * sigma_eta * sigma_eta;  // Optuna draws N(0, sigma^2) by scale sigma^2
  double xi = rng.normal() * sigma_xi * sigma_xi;
  for (int64_t i = 0; i < d; ++i) child[i] = 0.5 * (x1[i] + x2[i]) + xi * (x1[i] - x2[i]);
  if (d == 1) return child;
  double dot = 0;
  for (int64_t i = 0; i < d; ++i) dot += (x3[i] - x1[i]) * e12[i];
  double dist = 0;
  for (int64_t i = 0; i < d; ++i) v123[i] = x3[i] - x1[i] - dot * e12[i], dist += v123[i] * v123[i];
  dist = std::sqrt(dist);
  // orthonormal basis of the complement of e12 by Gram-Schmidt over e12 and the unit vectors
  std::vector<std::vector<double>> basis;
  bool has_e = std::any_of(e12.begin(), e12.end(), [](double e) { return e != 0; });
  if (has_e) basis.push_back(e12);
  for (int64_t u = 0; u < d && int64_t(basis.size()) < d; ++u) {
    std::vector<double> b(d, 0.0);
    b[u] = 1.0;
    for (const auto& q : basis) {
      double s = 0;
      for (int64_t i = 0; i < d; ++i) s += b[i] * q[i];
      for (int64_t i = 0; i < d; ++i) b[i] -= s * q[i];
    }
    double nb = 0;
    for (double x : b) nb += x * x;
    if (nb < 1e-20) continue;
    for (auto& x : b) x /= std::sqrt(nb);
    basis.push_back(b);
  }
  for (int64_t k = 1; k < int64_t(basis.size()); ++k)
    for (int64_t i = 0; i < d; ++i) child[i] += dist * etas[k - 1] * basis[k][i];
  return child;
}

double mutation_polynomial(double param, double lower, double upper, double eta, uint64_t seed) {
  AM_CHECK(eta >= 0, ValueError, "polynomial mutation needs eta >= 0, got ", eta);
  EvoRng rng(seed);
  double u = rng.uniform(), width = upper - lower;
  if (!(width > 0)) return param;
  double power = 1.0 / (eta + 1.0), dq;
  if (u <= 0.5) {
    double xy = 1.0 - (param - lower) / width;
    dq = std::pow(2.0 * u + (1.0 - 2.0 * u) * std::pow(xy, eta + 1.0), power) - 1.0;
  } else {
    double xy = 1.0 - (upper - param) / width;
    dq = 1.0 - std::pow(2.0 * (1.0 - u) + 2.0 * (u - 0.5) * std::pow(xy, eta + 1.0), power);
  }
  return param + dq * width;
}

}  // namespace aimass::hpo
