// IVF scan on the CPU, two ways:
// - Direct (single queries, small batches): one pool task per chunk of queries; each query
//   walks the lists it probes, scores their rows with SIMD dot products (knn_dot.h) and
//   streams them into its TopK (knn_topk.h). One query runs on the calling thread: no wake-up.
// - Batched (many queries per list, or a few queries with much work): the probes are inverted
//   into, per list, the queries that probe it; each list is one BLAS GEMM, Q_l (m_l, d) @ X_l^T
//   (d, n_l) (direct dots below 4 queries), whose rows are folded into those queries' TopKs.
//   Pool threads take lists from a shared counter and keep their own TopK per query (no two
//   threads write one selection); the partial selections are merged at the end.

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "ops/cpu/blas_gemm.h"
#include "ops/cpu/knn_dot.h"
#include "ops/cpu/knn_topk.h"
#include "ops/kernels/knn.h"

namespace aimass::cpu {

namespace {

constexpr int64_t kListTile = 512;       // rows scored per call on the per-query path: the scores stay in L1
constexpr int64_t kGemmQueries = 256;    // queries per GEMM on the batched path
constexpr int64_t kGemmRows = 1024;      // list rows per GEMM: a (256, 1024) score tile is 1 MiB
// The batched path pays once the average list is probed by about one query of a batch of a
// few: a list then leaves memory once for all its queries, where the direct path reads it once
// per query (measured at d = 128, nlist = 1024, 2 threads: 1.5-3x at 2 queries per list). Single
// queries and tiny batches stay direct: they run on the calling thread with no setup.
constexpr int64_t kGemmQueriesPerList = 1;
constexpr int64_t kGemmMinQueries = 8;
// A list block with fewer queries than this is scored by direct dot products (knn_dot_block):
// a GEMM with M < 4 is memory-bound anyway and pays packing for nothing.
constexpr int64_t kGemmMinRows = 4;
// A few queries go the batched way too (their lists shared out among the pool threads) when
// they score at least this many multiply-adds: ~0.2 ms on one core (lists come from memory),
// far above the cost of waking the pool, so a single query gets faster with more threads and
// never slower (measured: nprobe 256 of 1024 lists over 200k x 128, 1.3 ms -> 1.0 ms).
constexpr double kSplitWork = double(1 << 20);
// Queries per batched pass: each pool thread keeps a TopK per query of the pass (k to 2k
// candidates each), so memory stays bounded for any nq.
constexpr int64_t kBatchQueries = 8192;

struct IvfProblem {
  const float* q;
  int64_t nq, d, nlist, nprobe;
  const float* base32;  // lists as float32, or null when float16
  const Half* base16;
  const float* norms;   // L2 only
  const int64_t* ids;
  const bool* allowed;
  const int64_t* off;
  const int64_t* probes;
  KnnMetric metric;
  float a;              // key = a * ip + norm: -2 (L2) or -1 (inner product)

  // Rows [r0, r0 + n) as float32: in place, or widened into `widened`.
  const float* rows(int64_t r0, int64_t n, std::vector<float>& widened) const {
    if (base32) return base32 + r0 * d;
    widened.resize(size_t(n * d));
    for (int64_t i = 0; i < n * d; ++i) widened[size_t(i)] = float(base16[r0 * d + i]);
    return widened.data();
  }
  void scan(const float* ip, int64_t r0, int64_t n, TopK& top) const {
    knn_scan_row(ip, norms ? norms + r0 : nullptr, a, n, ids + r0, allowed ? allowed + r0 : nullptr, top);
  }
  float query_offset(int64_t qi) const {
    if (metric != KnnMetric::L2) return 0.0f;
    float s = 0;
    for (int64_t t = 0; t < d; ++t) s += q[qi * d + t] * q[qi * d + t];
    return s;
  }
  // Whether probe j of query qi names a list to scan: in [0, nlist) (-1 and, as on CUDA, any
  // other out-of-range number are skipped), not a repeat of an earlier probe.
  bool fresh_probe(int64_t qi, int64_t j) const {
    const int64_t* p = probes + qi * nprobe;
    return p[j] >= 0 && p[j] < nlist && std::find(p, p + j, p[j]) == p + j;
  }
};

void search_per_query(const IvfProblem& p, int64_t k, float* dist, int64_t* out) {
  parallel_for(0, p.nq, 1, [&](int64_t q0, int64_t q1) {
    TopK top(k);
    std::vector<float> ip(kListTile), widened;
    for (int64_t qi = q0; qi < q1; ++qi) {
      top.reset(k);
      const float* qv = p.q + qi * p.d;
      for (int64_t j = 0; j < p.nprobe; ++j) {
        if (!p.fresh_probe(qi, j)) continue;
        const int64_t l = p.probes[qi * p.nprobe + j];
        for (int64_t r0 = p.off[l]; r0 < p.off[l + 1]; r0 += kListTile) {
          const int64_t n = std::min(p.off[l + 1], r0 + kListTile) - r0;
          knn_dot_rows(qv, p.rows(r0, n, widened), n, p.d, ip.data());
          p.scan(ip.data(), r0, n, top);
        }
      }
      top.finish(p.metric, p.query_offset(qi), dist + qi * k, out + qi * k);
    }
  });
}

void search_batched(const IvfProblem& p, int64_t k, float* dist, int64_t* out) {
  // by_list[list_start[l] .. list_start[l + 1]): the queries probing list l, ascending.
  std::vector<int64_t> list_start(size_t(p.nlist + 1), 0);
  for (int64_t qi = 0; qi < p.nq; ++qi)
    for (int64_t j = 0; j < p.nprobe; ++j)
      if (p.fresh_probe(qi, j)) ++list_start[size_t(p.probes[qi * p.nprobe + j] + 1)];
  for (int64_t l = 0; l < p.nlist; ++l) list_start[size_t(l + 1)] += list_start[size_t(l)];
  std::vector<int64_t> by_list(size_t(list_start.back())), fill(list_start.begin(), list_start.end() - 1);
  for (int64_t qi = 0; qi < p.nq; ++qi)
    for (int64_t j = 0; j < p.nprobe; ++j)
      if (p.fresh_probe(qi, j)) by_list[size_t(fill[size_t(p.probes[qi * p.nprobe + j])]++)] = qi;

  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(num_threads(), p.nlist));
  // partial[w * nq + qi]: worker w's selection for query qi (empty until w scans one of its lists).
  std::vector<TopK> partial(size_t(workers * p.nq), TopK(k));
  std::atomic<int64_t> next_list{0};
  SingleThreadedBlas single;
  parallel_for(0, workers, 1, [&](int64_t w0, int64_t w1) {
    std::vector<float> qbuf, ip, widened;
    for (int64_t w = w0; w < w1; ++w) {
      TopK* tops = partial.data() + w * p.nq;
      for (int64_t l = next_list++; l < p.nlist; l = next_list++) {
        const int64_t* ql = by_list.data() + list_start[size_t(l)];
        const int64_t nql = list_start[size_t(l + 1)] - list_start[size_t(l)];
        const int64_t r_begin = p.off[l], r_end = p.off[l + 1];
        if (nql == 0 || r_begin == r_end) continue;
        for (int64_t b0 = 0; b0 < nql; b0 += kGemmQueries) {
          const int64_t m = std::min(nql, b0 + kGemmQueries) - b0;
          qbuf.resize(size_t(m * p.d));  // Q_l (m, d): this block's queries, gathered
          for (int64_t i = 0; i < m; ++i) std::copy_n(p.q + ql[b0 + i] * p.d, p.d, qbuf.data() + i * p.d);
          for (int64_t r0 = r_begin; r0 < r_end; r0 += kGemmRows) {
            const int64_t n = std::min(r_end, r0 + kGemmRows) - r0;
            ip.resize(size_t(m * n));
            const float* x = p.rows(r0, n, widened);
            if (m < kGemmMinRows)
              knn_dot_block(qbuf.data(), m, x, n, p.d, ip.data());
            else
              blas_gemm<float>(false, true, m, n, p.d, qbuf.data(), p.d, x, p.d, 0.0f, ip.data(), n);
            for (int64_t i = 0; i < m; ++i) p.scan(ip.data() + i * n, r0, n, tops[ql[b0 + i]]);
          }
        }
      }
    }
  });
  parallel_for(0, p.nq, 16, [&](int64_t q0, int64_t q1) {
    for (int64_t qi = q0; qi < q1; ++qi) {
      TopK& top = partial[size_t(qi)];
      for (int64_t w = 1; w < workers; ++w) top.merge(partial[size_t(w * p.nq + qi)]);
      top.finish(p.metric, p.query_offset(qi), dist + qi * k, out + qi * k);
    }
  });
}

}  // namespace

void knn_ivf_search(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                    const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                    const Tensor& out_dist, const Tensor& out_ids) {
  IvfProblem p;
  p.q = queries.data<float>();
  p.nq = queries.shape()[0], p.d = queries.shape()[1];
  p.nlist = offsets.shape()[0] - 1, p.nprobe = probes.shape()[1];
  p.base32 = lists.dtype() == DType::Float32 ? lists.data<float>() : nullptr;
  p.base16 = lists.dtype() == DType::Float16 ? lists.data<Half>() : nullptr;
  p.norms = metric == KnnMetric::L2 ? norms.data<float>() : nullptr;
  p.ids = ids.data<int64_t>();
  p.allowed = allowed.defined() ? allowed.data<bool>() : nullptr;
  p.off = offsets.data<int64_t>();
  p.probes = probes.data<int64_t>();
  p.metric = metric;
  p.a = metric == KnnMetric::L2 ? -2.0f : -1.0f;
  const int64_t k = out_dist.shape()[1];
  if (p.nq == 0) return;
  // Rows * d the whole search scores, were every list of average length.
  const double work = double(p.nq * p.nprobe) * double(p.off[p.nlist]) / double(p.nlist) * double(p.d);
  const bool batched = p.nq >= kGemmMinQueries ? p.nq * p.nprobe >= kGemmQueriesPerList * p.nlist
                                               : num_threads() > 1 && work >= kSplitWork;
  if (!batched) {
    search_per_query(p, k, out_dist.data<float>(), out_ids.data<int64_t>());
    return;
  }
  // Batches of queries in turn: the per-worker selections stay bounded.
  for (int64_t q0 = 0; q0 < p.nq; q0 += kBatchQueries) {
    IvfProblem part = p;
    part.nq = std::min(p.nq, q0 + kBatchQueries) - q0;
    part.q = p.q + q0 * p.d;
    part.probes = p.probes + q0 * p.nprobe;
    search_batched(part, k, out_dist.data<float>() + q0 * k, out_ids.data<int64_t>() + q0 * k);
  }
}

}  // namespace aimass::cpu
