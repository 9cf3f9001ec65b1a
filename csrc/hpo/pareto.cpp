#include "hpo/pareto.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace aimass::hpo {
namespace {

void check_values(const double* values, int64_t n, int64_t m) {
  AM_CHECK(n >= 0 && m >= 1, ValueError, "Pareto ranks need n >= 0 points of m >= 1 objectives, got n=", n,
           " m=", m);
  for (int64_t i = 0; i < n * m; ++i)
    AM_CHECK(!std::isnan(values[i]), ValueError, "objective value of point ", i / m, " is NaN");
}

// a dominates b (all <=, one <)
bool dominates(const double* a, const double* b, int64_t m) {
  bool better = false;
  for (int64_t j = 0; j < m; ++j) {
    if (a[j] > b[j]) return false;
    if (a[j] < b[j]) better = true;
  }
  return better;
}

// Rank-0 points of the subset idx for two objectives: sort by (f0, f1) and keep those whose f1 is
// below every f1 seen so far (equal points are kept together).
std::vector<int64_t> front_2d(const double* v, const std::vector<int64_t>& idx) {
  std::vector<int64_t> order = idx;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (v[2 * a] != v[2 * b]) return v[2 * a] < v[2 * b];
    if (v[2 * a + 1] != v[2 * b + 1]) return v[2 * a + 1] < v[2 * b + 1];
    return a < b;
  });
  std::vector<int64_t> front;
  double best_f1 = INFINITY;
  const double* last = nullptr;
  for (int64_t i : order) {
    const double* p = v + 2 * i;
    bool same_as_last = last && p[0] == last[0] && p[1] == last[1];
    if (p[1] < best_f1 || same_as_last) {
      front.push_back(i);
      if (!same_as_last) best_f1 = p[1];
      last = p;
    }
  }
  return front;
}

// Rank-0 points of the subset idx, any m: a point is kept unless some other point dominates it.
std::vector<int64_t> front_nd(const double* v, const std::vector<int64_t>& idx, int64_t m) {
  std::vector<int64_t> front;
  for (int64_t i : idx) {
    bool dominated = false;
    for (int64_t j : idx)
      if (j != i && dominates(v + j * m, v + i * m, m)) { dominated = true; break; }
    if (!dominated) front.push_back(i);
  }
  return front;
}

double hypervolume_2d(std::vector<std::pair<double, double>> pts, double r0, double r1) {
  std::sort(pts.begin(), pts.end());
  double volume = 0, ceiling = r1;  // sweep along f0; ceiling = lowest f1 so far
  for (size_t i = 0; i < pts.size(); ++i) {
    double next_f0 = i + 1 < pts.size() ? pts[i + 1].first : r0;
    ceiling = std::min(ceiling, pts[i].second);
    volume += (std::min(next_f0, r0) - pts[i].first) * (r1 - ceiling);
  }
  return volume;
}

// points: already clipped to the reference (every coordinate <= reference).
double hypervolume_rec(std::vector<std::vector<double>> pts, int64_t m, const double* ref) {
  if (pts.empty()) return 0;
  if (m == 1) {
    double lo = ref[0];
    for (auto& p : pts) lo = std::min(lo, p[0]);
    return ref[0] - lo;
  }
  if (m == 2) {
    std::vector<std::pair<double, double>> p2;
    for (auto& p : pts) p2.emplace_back(p[0], p[1]);
    return hypervolume_2d(std::move(p2), ref[0], ref[1]);
  }
  // Slice along the last objective: between consecutive values, the cross-section is the (m-1)-d
  // hypervolume of the points at or below the slice.
  std::sort(pts.begin(), pts.end(), [m](const auto& a, const auto& b) { return a[m - 1] < b[m - 1]; });
  double volume = 0;
  std::vector<std::vector<double>> below;
  for (size_t i = 0; i < pts.size(); ++i) {
    below.push_back(std::vector<double>(pts[i].begin(), pts[i].begin() + (m - 1)));
    double top = i + 1 < pts.size() ? pts[i + 1][m - 1] : ref[m - 1];
    double height = top - pts[i][m - 1];
    if (height <= 0) continue;
    volume += height * hypervolume_rec(below, m - 1, ref);
  }
  return volume;
}

}  // namespace

std::vector<int32_t> pareto_ranks(const double* values, int64_t n, int64_t m, int64_t n_below) {
  check_values(values, n, m);
  std::vector<int32_t> rank(n, static_cast<int32_t>(n));
  std::vector<int64_t> rest(n);
  std::iota(rest.begin(), rest.end(), 0);
  int64_t ranked = 0;
  for (int32_t r = 0; !rest.empty() && (n_below < 0 || ranked < n_below); ++r) {
    std::vector<int64_t> front = m == 2 ? front_2d(values, rest) : front_nd(values, rest, m);
    for (int64_t i : front) rank[i] = r;
    ranked += static_cast<int64_t>(front.size());
    std::vector<int64_t> next;
    next.reserve(rest.size() - front.size());
    for (int64_t i : rest)
      if (rank[i] != r) next.push_back(i);
    rest.swap(next);
  }
  return rank;
}

std::vector<int64_t> pareto_front(const double* values, int64_t n, int64_t m) {
  check_values(values, n, m);
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  std::vector<int64_t> front = m == 2 ? front_2d(values, all) : front_nd(values, all, m);
  std::sort(front.begin(), front.end());
  return front;
}

double hypervolume(const double* points, int64_t n, int64_t m, const double* reference) {
  check_values(points, n, m);
  for (int64_t j = 0; j < m; ++j)
    AM_CHECK(std::isfinite(reference[j]), ValueError, "hypervolume reference point must be finite, got ", reference[j],
             " in objective ", j);
  std::vector<std::vector<double>> pts;
  for (int64_t i = 0; i < n; ++i) {
    bool inside = true;
    for (int64_t j = 0; j < m; ++j) inside = inside && points[i * m + j] < reference[j];
    if (inside) pts.emplace_back(points + i * m, points + (i + 1) * m);
  }
  return hypervolume_rec(std::move(pts), m, reference);
}

std::vector<int64_t> hypervolume_subset(const double* points, int64_t n, int64_t m, int64_t k,
                                        const double* reference) {
  AM_CHECK(k >= 0, ValueError, "hypervolume subset size must be >= 0, got ", k);
  std::vector<int64_t> chosen;
  if (k >= n) {
    chosen.resize(n);
    std::iota(chosen.begin(), chosen.end(), 0);
    return chosen;
  }
  check_values(points, n, m);
  std::vector<bool> used(n, false);
  std::vector<double> selected;  // chosen points, [|chosen|, m]
  double base = 0;
  while (static_cast<int64_t>(chosen.size()) < k) {
    int64_t best = -1;
    double best_gain = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      std::vector<double> trial = selected;
      trial.insert(trial.end(), points + i * m, points + (i + 1) * m);
      double gain = hypervolume(trial.data(), static_cast<int64_t>(chosen.size()) + 1, m, reference) - base;
      if (gain > best_gain) best_gain = gain, best = i;
    }
    used[best] = true;
    chosen.push_back(best);
    selected.insert(selected.end(), points + best * m, points + (best + 1) * m);
    base += best_gain;
  }
  return chosen;
}

}  // namespace aimass::hpo
