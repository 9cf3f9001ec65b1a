#include "hpo/importance.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/error.h"

namespace aimass::hpo {
namespace {

// P(a < Z < b) for a standard normal Z, from the tail that keeps the digits.
double gauss_mass(double a, double b) {
  const double r = 1.0 / std::sqrt(2.0);
  if (a > 0) return 0.5 * (std::erfc(a * r) - std::erfc(b * r));
  if (b < 0) return 0.5 * (std::erfc(-b * r) - std::erfc(-a * r));
  return 1.0 - 0.5 * std::erfc(b * r) - 0.5 * std::erfc(-a * r);
}

}  // namespace

// ---------------------------------------------------------------- PED-ANOVA

std::vector<double> parzen_pdf_on_grid(const int64_t* counts, int64_t grid_size, bool categorical,
                                       double prior_weight) {
  AM_CHECK(grid_size >= 1, ValueError, "parzen_pdf_on_grid: grid_size must be >= 1, got ", grid_size);
  AM_CHECK(prior_weight >= 0, ValueError, "prior_weight=", prior_weight, " must be non-negative.");
  std::vector<double> obs, w;  // occupied bins and their counts, then the prior kernel
  for (int64_t g = 0; g < grid_size; ++g)
    if (counts[g] > 0) obs.push_back(double(g)), w.push_back(double(counts[g]));
  AM_CHECK(!obs.empty(), ValueError, "parzen_pdf_on_grid: needs at least one observation");
  const size_t n_obs = obs.size();
  const double count_sum = std::accumulate(w.begin(), w.end(), 0.0);
  std::vector<double> mix(w);
  mix.push_back(prior_weight);
  const double mix_sum = count_sum + prior_weight;
  for (double& m : mix) m /= mix_sum;

  std::vector<double> pdf(size_t(grid_size), 0.0);
  if (categorical) {
    // Kernel k puts 1 on its choice plus prior / n_kernels on every choice (rows normalised).
    const double base = prior_weight / double(n_obs + 1);
    for (size_t k = 0; k <= n_obs; ++k) {
      double row_sum = base * double(grid_size) + (k < n_obs ? 1.0 : 0.0);
      if (row_sum == 0) continue;
      for (int64_t g = 0; g < grid_size; ++g) {
        double v = base + (k < n_obs && double(g) == obs[k] ? 1.0 : 0.0);
        pdf[size_t(g)] += mix[k] * v / row_sum;
      }
    }
    return pdf;
  }
  // Scott's rule on the weighted observations (the counts are integers: Optuna's // quartiles).
  double mean = 0;
  for (size_t i = 0; i < n_obs; ++i) mean += obs[i] * w[i];
  mean /= count_sum;
  double ss = 0;
  for (size_t i = 0; i < n_obs; ++i) ss += (obs[i] - mean) * (obs[i] - mean) * w[i];
  double sigma = std::sqrt(ss / std::max(1.0, count_sum - 1));
  std::vector<double> cum(n_obs);
  std::partial_sum(w.begin(), w.end(), cum.begin());
  const double q1 = std::floor(count_sum / 4), q3 = std::floor(count_sum * 3 / 4);
  size_t q1_idx = size_t(std::lower_bound(cum.begin(), cum.end(), q1) - cum.begin());
  size_t q3_idx = size_t(std::upper_bound(cum.begin(), cum.end(), q3) - cum.begin());
  double iqr = obs[std::min(n_obs - 1, q3_idx)] - obs[std::min(n_obs - 1, q1_idx)];
  sigma = 1.059 * std::min(iqr / 1.34, sigma) * std::pow(count_sum, -0.2);
  sigma = std::max(sigma, 0.5 / 1.64);
  const double low = -0.5, high = double(grid_size) - 0.5;  // the grid [0, G-1], step 1
  for (size_t k = 0; k <= n_obs; ++k) {
    double mu = k < n_obs ? obs[k] : double(grid_size - 1) / 2.0;
    double s = k < n_obs ? sigma : double(grid_size);
    double norm = gauss_mass((low - mu) / s, (high - mu) / s);
    if (norm <= 0) continue;
    for (int64_t g = 0; g < grid_size; ++g)
      pdf[size_t(g)] += mix[k] * gauss_mass((double(g) - 0.5 - mu) / s, (double(g) + 0.5 - mu) / s) / norm;
  }
  return pdf;
}

double ped_anova_divergence(const int64_t* top_counts, const int64_t* region_counts, int64_t grid_size,
                            bool categorical, double prior_weight, bool evaluate_on_local) {
  std::vector<double> top = parzen_pdf_on_grid(top_counts, grid_size, categorical, prior_weight);
  std::vector<double> local = evaluate_on_local ? parzen_pdf_on_grid(region_counts, grid_size, categorical, prior_weight)
                                                : std::vector<double>(size_t(grid_size), 1.0 / double(grid_size));
  double div = 0;
  for (size_t g = 0; g < top.size(); ++g) {
    double p = top[g] + 1e-12, q = local[g] + (evaluate_on_local ? 1e-12 : 0.0);
    div += q * (p / q - 1) * (p / q - 1);
  }
  return div;
}

// ---------------------------------------------------------------- fANOVA

namespace {

struct Node {
  int64_t feature = -1;  // -1: a leaf
  double threshold = 0;  // x[feature] <= threshold goes left
  int64_t left = -1, right = -1;
  double value = 0;      // mean of y over the node's samples
};

// A CART regression tree on the bootstrap rows `rows` (indices into X, repeats allowed).
class RegressionTree {
 public:
  RegressionTree(const double* X, const double* y, int64_t d, int64_t max_depth) : X_(X), y_(y), d_(d),
                                                                                   max_depth_(max_depth) {}

  std::vector<Node> fit(std::vector<int64_t> rows) {
    nodes_.clear();
    grow(rows, 0);
    return nodes_;
  }

 private:
  int64_t grow(std::vector<int64_t>& rows, int64_t depth) {
    int64_t id = int64_t(nodes_.size());
    nodes_.emplace_back();
    double sum = 0, sq = 0;
    for (int64_t r : rows) sum += y_[r], sq += y_[r] * y_[r];
    const double n = double(rows.size());
    nodes_[size_t(id)].value = sum / n;
    const double sse = sq - sum * sum / n;
    if (rows.size() < 2 || depth >= max_depth_ || sse <= 1e-12 * std::max(1.0, std::fabs(sq))) return id;

    // Best split: the largest drop of the squared error, at a midpoint between distinct values.
    double best_gain = 0, best_thr = 0;
    int64_t best_f = -1;
    std::vector<int64_t> order(rows);
    for (int64_t f = 0; f < d_; ++f) {
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return X_[a * d_ + f] < X_[b * d_ + f]; });
      double left_sum = 0;
      for (size_t i = 0; i + 1 < order.size(); ++i) {
        left_sum += y_[order[i]];
        double xa = X_[order[i] * d_ + f], xb = X_[order[i + 1] * d_ + f];
        if (xa == xb) continue;
        double nl = double(i + 1), nr = n - nl, right_sum = sum - left_sum;
        double gain = left_sum * left_sum / nl + right_sum * right_sum / nr - sum * sum / n;
        if (gain > best_gain) best_gain = gain, best_f = f, best_thr = xa + (xb - xa) / 2;
      }
    }
    if (best_f < 0) return id;
    std::vector<int64_t> left, right;
    for (int64_t r : rows) (X_[r * d_ + best_f] <= best_thr ? left : right).push_back(r);
    rows.clear();
    rows.shrink_to_fit();
    int64_t l = grow(left, depth + 1);
    int64_t rr = grow(right, depth + 1);
    Node& node = nodes_[size_t(id)];
    node.feature = best_f, node.threshold = best_thr, node.left = l, node.right = rr;
    return id;
  }

  const double *X_, *y_;
  int64_t d_, max_depth_;
  std::vector<Node> nodes_;
};

struct Leaf {
  std::vector<double> lo, hi;  // the leaf's box in the search space, [d] each
  double value;
};

void collect_leaves(const std::vector<Node>& nodes, int64_t id, std::vector<double>& lo, std::vector<double>& hi,
                    std::vector<Leaf>& out) {
  const Node& node = nodes[size_t(id)];
  if (node.feature < 0) {
    out.push_back({lo, hi, node.value});
    return;
  }
  size_t f = size_t(node.feature);
  double saved_hi = hi[f], saved_lo = lo[f];
  hi[f] = std::min(hi[f], node.threshold);
  collect_leaves(nodes, node.left, lo, hi, out);
  hi[f] = saved_hi;
  lo[f] = std::max(lo[f], node.threshold);
  collect_leaves(nodes, node.right, lo, hi, out);
  lo[f] = saved_lo;
}

double weighted_variance(const std::vector<double>& v, const std::vector<double>& w) {
  double ws = 0, mean = 0, var = 0;
  for (size_t i = 0; i < v.size(); ++i) ws += w[i], mean += v[i] * w[i];
  if (ws <= 0) return 0;
  mean /= ws;
  for (size_t i = 0; i < v.size(); ++i) var += (v[i] - mean) * (v[i] - mean) * w[i];
  return var / ws;
}

// The tree's prediction marginalised to the columns of group, its variance over their cells.
double marginal_variance(const std::vector<Leaf>& leaves, const std::vector<Node>& nodes,
                         const std::vector<int64_t>& group, const double* bounds, int64_t d) {
  // Each column's cell edges: its bounds and every threshold of the tree on it inside them.
  std::vector<std::vector<double>> edges;
  for (int64_t c : group) {
    std::vector<double> e = {bounds[2 * c], bounds[2 * c + 1]};
    for (const Node& node : nodes)
      if (node.feature == c && node.threshold > e[0] && node.threshold < bounds[2 * c + 1]) e.push_back(node.threshold);
    std::sort(e.begin(), e.end());
    e.erase(std::unique(e.begin(), e.end()), e.end());
    edges.push_back(e);
  }
  std::vector<char> in_group(size_t(d), 0);
  for (int64_t c : group) in_group[size_t(c)] = 1;
  // Each leaf's volume over the other columns (a fraction of the search space there).
  std::vector<double> other_volume(leaves.size(), 1.0);
  for (size_t l = 0; l < leaves.size(); ++l)
    for (int64_t c = 0; c < d; ++c)
      if (!in_group[size_t(c)]) {
        double width = bounds[2 * c + 1] - bounds[2 * c];
        if (width > 0) other_volume[l] *= (leaves[l].hi[size_t(c)] - leaves[l].lo[size_t(c)]) / width;
      }
  std::vector<double> values, weights;
  std::vector<size_t> cell(group.size(), 0);
  std::vector<double> mid(group.size());
  while (true) {
    double weight = 1;
    for (size_t k = 0; k < group.size(); ++k) {
      const auto& e = edges[k];
      mid[k] = (e[cell[k]] + e[cell[k] + 1]) / 2;
      weight *= e[cell[k] + 1] - e[cell[k]];
    }
    double sum = 0, vol = 0;
    for (size_t l = 0; l < leaves.size(); ++l) {
      bool inside = true;
      for (size_t k = 0; k < group.size() && inside; ++k) {
        size_t c = size_t(group[k]);
        inside = leaves[l].lo[c] <= mid[k] && mid[k] <= leaves[l].hi[c];
      }
      if (inside) sum += leaves[l].value * other_volume[l], vol += other_volume[l];
    }
    if (vol > 0) values.push_back(sum / vol), weights.push_back(weight);
    size_t k = 0;  // next cell, odometer order
    while (k < group.size() && ++cell[k] + 1 >= edges[k].size()) cell[k++] = 0;
    if (k == group.size()) break;
  }
  return weighted_variance(values, weights);
}

}  // namespace

std::vector<double> fanova_importances(const double* X, const double* y, int64_t n, int64_t d, const double* bounds,
                                       const std::vector<std::vector<int64_t>>& groups, int64_t n_trees,
                                       int64_t max_depth, uint64_t seed) {
  AM_CHECK(n >= 2, ValueError, "fanova: needs at least 2 trials, got ", n);
  AM_CHECK(d >= 1 && n_trees >= 1 && max_depth >= 1, ValueError, "fanova: needs d >= 1, n_trees >= 1 and max_depth >= 1");
  for (const auto& g : groups)
    for (int64_t c : g) AM_CHECK(c >= 0 && c < d, ValueError, "fanova: column ", c, " of a group is not in [0, ", d, ")");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  RegressionTree builder(X, y, d, max_depth);
  std::vector<double> sums(groups.size(), 0.0);
  int64_t n_used = 0;
  for (int64_t t = 0; t < n_trees; ++t) {
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (auto& r : rows) r = pick(rng);  // bootstrap
    std::vector<Node> nodes = builder.fit(rows);
    std::vector<Leaf> leaves;
    std::vector<double> lo(static_cast<size_t>(d)), hi(static_cast<size_t>(d));
    for (int64_t c = 0; c < d; ++c) lo[size_t(c)] = bounds[2 * c], hi[size_t(c)] = bounds[2 * c + 1];
    collect_leaves(nodes, 0, lo, hi, leaves);
    // The tree's total variance over the search space: leaf values weighted by leaf volume.
    std::vector<double> values, volumes;
    for (const Leaf& leaf : leaves) {
      double v = 1;
      for (int64_t c = 0; c < d; ++c) {
        double width = bounds[2 * c + 1] - bounds[2 * c];
        if (width > 0) v *= (leaf.hi[size_t(c)] - leaf.lo[size_t(c)]) / width;
      }
      values.push_back(leaf.value), volumes.push_back(v);
    }
    double total = weighted_variance(values, volumes);
    if (!(total > 0)) continue;
    ++n_used;
    for (size_t k = 0; k < groups.size(); ++k)
      sums[k] += std::max(0.0, marginal_variance(leaves, nodes, groups[k], bounds, d)) / total;
  }
  AM_CHECK(n_used > 0, RuntimeError, "Encountered zero total variance in all trees.");
  for (double& s : sums) s /= double(n_used);
  return sums;
}

}  // namespace aimass::hpo
