#include "knn/kmeans.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/parallel.h"
#include "knn/vectors.h"
#include "ops/convert.h"
#include "ops/shape.h"

namespace aimass::knn {

namespace {

constexpr float kSplitEps = 1.0f / 1024.0f;  // FAISS's CLUSTERING EPS

// d2[i] = min(d2[i], |x[i] - c|^2) for rows i in [i0, i1) of x (m, d): one variant per ISA,
// picked by cpu_isa().
[[gnu::always_inline]] inline void min_squared_distances_loop(const float* x, int64_t i0, int64_t i1, const float* c,
                                                              int64_t d, float* d2) {
  for (int64_t i = i0; i < i1; ++i) {
    const float* a = x + i * d;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t t = 0; t < d; ++t) s += (a[t] - c[t]) * (a[t] - c[t]);
    d2[i] = std::min(d2[i], s);
  }
}
void min_squared_distances_baseline(const float* x, int64_t i0, int64_t i1, const float* c, int64_t d, float* d2) {
  min_squared_distances_loop(x, i0, i1, c, d, d2);
}
AM_TARGET_AVX2 void min_squared_distances_avx2(const float* x, int64_t i0, int64_t i1, const float* c, int64_t d,
                                               float* d2) {
  min_squared_distances_loop(x, i0, i1, c, d, d2);
}
AM_TARGET_AVX512 void min_squared_distances_avx512(const float* x, int64_t i0, int64_t i1, const float* c, int64_t d,
                                                   float* d2) {
  min_squared_distances_loop(x, i0, i1, c, d, d2);
}
void min_squared_distances(CpuIsa isa, const float* x, int64_t i0, int64_t i1, const float* c, int64_t d, float* d2) {
  switch (isa) {
    case CpuIsa::Avx512: return min_squared_distances_avx512(x, i0, i1, c, d, d2);
    case CpuIsa::Avx2: return min_squared_distances_avx2(x, i0, i1, c, d, d2);
    case CpuIsa::Baseline: return min_squared_distances_baseline(x, i0, i1, c, d, d2);
  }
}

void normalise_rows(float* c, int64_t k, int64_t d) {
  for (int64_t i = 0; i < k; ++i) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s += double(c[i * d + t]) * c[i * d + t];
    if (s > 0) {
      const float inv = float(1.0 / std::sqrt(s));
      for (int64_t t = 0; t < d; ++t) c[i * d + t] *= inv;
    }
  }
}

// `count` distinct indices of [0, n), drawn uniformly without replacement, ascending.
std::vector<int64_t> sample_rows(int64_t n, int64_t count, std::mt19937_64& rng) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  for (int64_t i = 0; i < count; ++i) {  // partial Fisher-Yates
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(perm[size_t(i)], perm[size_t(pick(rng))]);
  }
  perm.resize(static_cast<size_t>(count));
  std::sort(perm.begin(), perm.end());
  return perm;
}

// k-means++: x (m, d) host rows -> centroids (k, d). Each next centre is row i with
// probability D(i)^2 / sum D^2, D the distance to the nearest centre so far.
std::vector<float> kmeans_pp(const float* x, int64_t m, int64_t d, int64_t k, std::mt19937_64& rng) {
  std::vector<float> c(size_t(k * d));
  std::vector<float> d2(size_t(m), std::numeric_limits<float>::infinity());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int64_t pick = std::uniform_int_distribution<int64_t>(0, m - 1)(rng);
  const CpuIsa isa = cpu_isa_at("kmeans_pp");
  for (int64_t j = 0; j < k; ++j) {
    std::copy(x + pick * d, x + (pick + 1) * d, c.begin() + j * d);
    const float* cj = c.data() + j * d;
    parallel_for(0, m, 1024, [&](int64_t i0, int64_t i1) { min_squared_distances(isa, x, i0, i1, cj, d, d2.data()); });
    if (j + 1 == k) break;
    double total = 0;
    for (float v : d2) total += v;
    if (!(total > 0)) {  // every row sits on a centre (duplicates): any row will do
      pick = std::uniform_int_distribution<int64_t>(0, m - 1)(rng);
      continue;
    }
    const double target = unit(rng) * total;
    double acc = 0;
    pick = m - 1;
    for (int64_t i = 0; i < m; ++i) {
      acc += d2[size_t(i)];
      if (acc > target && d2[size_t(i)] > 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

// The centroid step: c[j] = mean of the rows assigned to j (rows of empty clusters untouched).
// Rows are bucketed by cluster first, so each cluster is summed in row order by one thread:
// the result does not depend on the thread count. Returns the cluster sizes.
std::vector<int64_t> update_centroids(const float* x, int64_t m, int64_t d, const int64_t* assign, int64_t k,
                                      std::vector<float>& c) {
  std::vector<int64_t> start(size_t(k + 1), 0);
  for (int64_t i = 0; i < m; ++i) ++start[size_t(assign[i] + 1)];
  for (int64_t j = 0; j < k; ++j) start[size_t(j + 1)] += start[size_t(j)];
  std::vector<int64_t> rows(static_cast<size_t>(m));
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < m; ++i) rows[size_t(fill[size_t(assign[i])]++)] = i;
  parallel_for(0, k, 16, [&](int64_t j0, int64_t j1) {
    std::vector<double> sum(static_cast<size_t>(d));
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t a = start[size_t(j)], b = start[size_t(j + 1)];
      if (a == b) continue;
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t r = a; r < b; ++r) {
        const float* xr = x + rows[size_t(r)] * d;
        for (int64_t t = 0; t < d; ++t) sum[size_t(t)] += xr[t];
      }
      for (int64_t t = 0; t < d; ++t) c[size_t(j * d + t)] = float(sum[size_t(t)] / double(b - a));
    }
  });
  std::vector<int64_t> sizes(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j) sizes[size_t(j)] = start[size_t(j + 1)] - start[size_t(j)];
  return sizes;
}

// Re-seeds empty clusters by splitting the largest (rules in kmeans.h).
void split_empty(std::vector<float>& c, std::vector<int64_t>& sizes, int64_t d) {
  const int64_t k = int64_t(sizes.size());
  for (int64_t e = 0; e < k; ++e) {
    if (sizes[size_t(e)] != 0) continue;
    const int64_t big = std::max_element(sizes.begin(), sizes.end()) - sizes.begin();
    float* ce = c.data() + e * d;
    float* cb = c.data() + big * d;
    for (int64_t t = 0; t < d; ++t) {
      const float v = cb[t];
      ce[t] = v * (t % 2 == 0 ? 1 + kSplitEps : 1 - kSplitEps);
      cb[t] = v * (t % 2 == 0 ? 1 - kSplitEps : 1 + kSplitEps);
    }
    sizes[size_t(e)] = sizes[size_t(big)] / 2;
    sizes[size_t(big)] -= sizes[size_t(e)];
  }
}

// Nearest centroid of each row: (n,) int64 on the CPU.
Tensor assign_rows(const Tensor& x, const std::vector<float>& c, int64_t k, const Tensor& centroid_ids,
                   KnnMetric metric) {
  Tensor cd = to_device(host_tensor(c, {k, x.shape()[1]}), x.device());
  Tensor norms = metric == KnnMetric::L2 ? knn_row_norms(cd) : Tensor();
  KnnResult r = knn_flat_search(x, cd, norms, centroid_ids, Tensor(), metric, 1);
  return contiguous(to_device(reshape(r.ids, {x.shape()[0]}), Device()));
}

}  // namespace

KMeansResult kmeans(const Tensor& x, const KMeansOptions& opt, const char* what) {
  AM_CHECK(x.dim() == 2 && x.dtype() == DType::Float32 && x.is_contiguous(), ValueError, what,
           ": x must be contiguous float32 (n, d), got ", x.describe());
  const int64_t n = x.shape()[0], d = x.shape()[1], k = opt.k;
  AM_CHECK(k >= 1, ValueError, what, ": k must be at least 1, got ", k);
  AM_CHECK(k <= n, ValueError, what, ": k = ", k, " exceeds the number of points n = ", n);
  AM_CHECK(opt.niter >= 0, ValueError, what, ": niter must be >= 0, got ", opt.niter);
  const Device device = x.device();
  std::mt19937_64 rng(opt.seed);

  // The training set: host copy for the centroid step, device copy for the assignment step.
  Tensor xh = contiguous(to_device(x, Device()));
  Tensor train_h = xh, train = x;
  int64_t m = n;
  if (opt.max_points_per_centroid > 0 && opt.max_points_per_centroid <= n / k && n > k * opt.max_points_per_centroid) {
    m = k * opt.max_points_per_centroid;
    std::vector<int64_t> rows = sample_rows(n, m, rng);
    train_h = Tensor::empty({m, d}, DType::Float32);
    for (int64_t i = 0; i < m; ++i)
      std::copy(xh.data<float>() + rows[size_t(i)] * d, xh.data<float>() + (rows[size_t(i)] + 1) * d,
                train_h.data<float>() + i * d);
    train = to_device(train_h, device);
  }
  const float* th = train_h.data<float>();

  std::vector<float> c;
  if (opt.init.defined()) {
    AM_CHECK(opt.init.dim() == 2 && opt.init.shape()[0] == k && opt.init.shape()[1] == d, ValueError, what,
             ": init must be (k, d) = (", k, ", ", d, "), got ", opt.init.describe());
    Tensor ih = prepare_vectors(opt.init, d, Metric::L2, Device(), what);
    c.assign(ih.data<float>(), ih.data<float>() + k * d);
  } else {
    const int64_t m0 = std::min(m, std::max<int64_t>(8 * k, 1024));
    if (m0 == m) {
      c = kmeans_pp(th, m, d, k, rng);
    } else {
      std::vector<int64_t> rows = sample_rows(m, m0, rng);
      std::vector<float> sub(size_t(m0 * d));
      for (int64_t i = 0; i < m0; ++i)
        std::copy(th + rows[size_t(i)] * d, th + (rows[size_t(i)] + 1) * d, sub.begin() + i * d);
      c = kmeans_pp(sub.data(), m0, d, k, rng);
    }
  }
  if (opt.spherical) normalise_rows(c.data(), k, d);

  Tensor ids = Tensor::empty({k}, DType::Int64);
  std::iota(ids.data<int64_t>(), ids.data<int64_t>() + k, int64_t(0));
  ids = to_device(ids, device);

  KMeansResult out;
  Tensor prev;
  for (int64_t it = 0; it < opt.niter; ++it) {
    Tensor assign = assign_rows(train, c, k, ids, opt.metric);
    if (prev.defined() && std::equal(assign.data<int64_t>(), assign.data<int64_t>() + m, prev.data<int64_t>())) break;
    std::vector<int64_t> sizes = update_centroids(th, m, d, assign.data<int64_t>(), k, c);
    split_empty(c, sizes, d);
    if (opt.spherical) normalise_rows(c.data(), k, d);
    prev = assign;
    out.n_iter = it + 1;
  }

  out.assignment = m == n && prev.defined() && out.n_iter < opt.niter ? prev : assign_rows(x, c, k, ids, opt.metric);
  // Inertia in float64 from the rows themselves, summed in row order (thread-count independent).
  const int64_t* a = out.assignment.data<int64_t>();
  std::vector<double> per_row(static_cast<size_t>(n));
  parallel_for(0, n, 1024, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float* xi = xh.data<float>() + i * d;
      const float* ci = c.data() + a[i] * d;
      double s = 0;
      for (int64_t t = 0; t < d; ++t) s += (double(xi[t]) - ci[t]) * (double(xi[t]) - ci[t]);
      per_row[size_t(i)] = s;
    }
  });
  for (double v : per_row) out.inertia += v;
  out.centroids = to_device(host_tensor(c, {k, d}), device);
  return out;
}

KMeansResult kmeans(const Tensor& x, Metric metric, Device device, KMeansOptions options) {
  const char* what = "kmeans";
  AM_CHECK(x.defined() && x.dim() == 2, ValueError, what, ": x must be 2-D (n, d), got ",
           x.defined() ? x.describe() : std::string("nothing"));
  Tensor v = prepare_vectors(x, x.shape()[1], metric, device, what);
  options.metric = kernel_metric(metric);
  options.spherical = metric != Metric::L2;
  return kmeans(v, options, what);
}

}  // namespace aimass::knn
