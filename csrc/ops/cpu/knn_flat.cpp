// Exact k-NN on the CPU. Scores come from GEMM tiles (blas_gemm.h: our AVX-512 kernel, else the
// BLAS), ip (bq, bn) = Q_block (bq, d) @ X_tile^T (d, bn), each folded at once into per-query
// TopK selections (knn_topk.h) while the tile is still in cache: L2 keys are ||x||^2 - 2 q.x (the query's own ||q||^2 is added at the
// end), inner-product keys -q.x. A few queries skip the BLAS (knn_dot_block): a GEMM with
// M < 8 pays for packing the base tile more than the direct dot products cost.
// Work is split into (query block x base partition) tasks over the pool, each with
// single-threaded GEMMs: many queries split by query block; few queries split the base into
// one partition per thread and merge the partial selections, so one query uses every core.
#include <algorithm>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "ops/cpu/blas_gemm.h"
#include "ops/cpu/knn_topk.h"
#include "ops/kernels/knn.h"

namespace aimass::cpu {

namespace {

constexpr int64_t kQueryBlock = 256;   // queries per GEMM
constexpr int64_t kBaseTile = 1024;    // base rows per GEMM: a (256, 1024) tile is 1 MiB
constexpr int64_t kDirectQueries = 8;  // fewer queries than this: no BLAS (measured crossover 8-16)

struct FlatProblem {
  const float* q;
  int64_t nq, d, nb;
  const float* base32;   // base as float32, or null when float16
  const Half* base16;
  const float* norms;    // L2 only
  const int64_t* ids;
  const bool* allowed;
  KnnMetric metric;
};

// Folds base rows [r0, r1) into tops[0 .. q1 - q0) for queries [q0, q1).
void search_range(const FlatProblem& p, int64_t q0, int64_t q1, int64_t r0, int64_t r1, std::vector<TopK>& tops,
                  std::vector<float>& ip, std::vector<float>& widened) {
  const int64_t m = q1 - q0;
  const float a = p.metric == KnnMetric::L2 ? -2.0f : -1.0f;
  for (int64_t t0 = r0; t0 < r1; t0 += kBaseTile) {
    const int64_t n = std::min(r1, t0 + kBaseTile) - t0;
    const float* x = p.base32 ? p.base32 + t0 * p.d : nullptr;
    if (!x) {  // float16 base: widen this tile
      widened.resize(size_t(n * p.d));
      const Half* h = p.base16 + t0 * p.d;
      for (int64_t i = 0; i < n * p.d; ++i) widened[size_t(i)] = float(h[i]);
      x = widened.data();
    }
    ip.resize(size_t(m * n));
    if (m < kDirectQueries)
      knn_dot_block(p.q + q0 * p.d, m, x, n, p.d, ip.data());
    else
      blas_gemm<float>(false, true, m, n, p.d, p.q + q0 * p.d, p.d, x, p.d, 0.0f, ip.data(), n);
    const float* b = p.norms ? p.norms + t0 : nullptr;
    const bool* ok = p.allowed ? p.allowed + t0 : nullptr;
    for (int64_t i = 0; i < m; ++i) knn_scan_row(ip.data() + i * n, b, a, n, p.ids + t0, ok, tops[size_t(i)]);
  }
}

float query_offset(const FlatProblem& p, int64_t qi) {
  if (p.metric != KnnMetric::L2) return 0.0f;
  const float* q = p.q + qi * p.d;
  float s = 0;
  for (int64_t t = 0; t < p.d; ++t) s += q[t] * q[t];
  return s;
}

}  // namespace

void knn_flat_search(const Tensor& queries, const Tensor& base, const Tensor& base_norms, const Tensor& base_ids,
                     const Tensor& allowed, KnnMetric metric, const Tensor& out_dist, const Tensor& out_ids) {
  FlatProblem p;
  p.q = queries.data<float>();
  p.nq = queries.shape()[0], p.d = queries.shape()[1], p.nb = base.shape()[0];
  p.base32 = base.dtype() == DType::Float32 ? base.data<float>() : nullptr;
  p.base16 = base.dtype() == DType::Float16 ? base.data<Half>() : nullptr;
  p.norms = metric == KnnMetric::L2 ? base_norms.data<float>() : nullptr;
  p.ids = base_ids.data<int64_t>();
  p.allowed = allowed.defined() ? allowed.data<bool>() : nullptr;
  p.metric = metric;
  const int64_t k = out_dist.shape()[1];
  float* dist = out_dist.data<float>();
  int64_t* ids = out_ids.data<int64_t>();
  if (p.nq == 0) return;

  const int64_t threads = num_threads();
  const int64_t qblocks = (p.nq + kQueryBlock - 1) / kQueryBlock;
  // Base partitions: enough for every thread to have work when the queries alone cannot.
  const int64_t parts = qblocks >= threads ? 1 : std::clamp<int64_t>(threads / qblocks, 1, (p.nb + kBaseTile - 1) / kBaseTile);
  const int64_t part_rows = (p.nb + parts - 1) / std::max<int64_t>(parts, 1);
  // partial[part * nq + qi]: query qi's selection over partition part.
  std::vector<TopK> partial(size_t(parts * p.nq), TopK(k));

  SingleThreadedBlas single;
  parallel_for(0, qblocks * parts, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> ip, widened;
    std::vector<TopK> tops;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t qb = t / parts, part = t % parts;
      const int64_t q0 = qb * kQueryBlock, q1 = std::min(p.nq, q0 + kQueryBlock);
      const int64_t r0 = std::min(p.nb, part * part_rows), r1 = std::min(p.nb, r0 + part_rows);
      tops.assign(partial.begin() + (part * p.nq + q0), partial.begin() + (part * p.nq + q1));
      search_range(p, q0, q1, r0, r1, tops, ip, widened);
      std::move(tops.begin(), tops.end(), partial.begin() + (part * p.nq + q0));
    }
  });
  parallel_for(0, p.nq, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t qi = q0; qi < q1; ++qi) {
      TopK& top = partial[size_t(qi)];
      for (int64_t part = 1; part < parts; ++part) top.merge(partial[size_t(part * p.nq + qi)]);
      top.finish(metric, query_offset(p, qi), dist + qi * k, ids + qi * k);
    }
  });
}

}  // namespace aimass::cpu
