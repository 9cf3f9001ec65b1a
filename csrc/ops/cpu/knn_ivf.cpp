// IVF scan on the CPU: each query (one pool task per chunk of queries) walks the lists it
// probes, scores their rows directly (knn_dot_block, widening float16 rows per tile) and
// streams them into its TopK (knn_topk.h).
#include <algorithm>
#include <vector>

#include "core/dtype.h"
#include "core/parallel.h"
#include "ops/cpu/knn_topk.h"
#include "ops/kernels.h"

namespace aimass::cpu {

namespace {
constexpr int64_t kListTile = 512;  // rows scored per call: the scores stay in L1
}

void knn_ivf_search(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                    const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                    const Tensor& out_dist, const Tensor& out_ids) {
  const int64_t nq = queries.shape()[0], d = queries.shape()[1], nprobe = probes.shape()[1];
  const int64_t k = out_dist.shape()[1];
  const float* q = queries.data<float>();
  const float* base32 = lists.dtype() == DType::Float32 ? lists.data<float>() : nullptr;
  const Half* base16 = lists.dtype() == DType::Float16 ? lists.data<Half>() : nullptr;
  const float* nrm = metric == KnnMetric::L2 ? norms.data<float>() : nullptr;
  const int64_t* row_ids = ids.data<int64_t>();
  const bool* ok = allowed.defined() ? allowed.data<bool>() : nullptr;
  const int64_t* off = offsets.data<int64_t>();
  const int64_t* pr = probes.data<int64_t>();
  float* dist = out_dist.data<float>();
  int64_t* out = out_ids.data<int64_t>();
  const float a = metric == KnnMetric::L2 ? -2.0f : -1.0f;

  parallel_for(0, nq, 1, [&](int64_t q0, int64_t q1) {
    TopK top(k);
    std::vector<float> ip(kListTile), widened;
    std::vector<int64_t> seen;
    for (int64_t qi = q0; qi < q1; ++qi) {
      top.reset(k);
      seen.clear();
      const float* qv = q + qi * d;
      for (int64_t j = 0; j < nprobe; ++j) {
        const int64_t l = pr[qi * nprobe + j];
        if (l < 0 || std::find(seen.begin(), seen.end(), l) != seen.end()) continue;
        seen.push_back(l);
        for (int64_t r0 = off[l]; r0 < off[l + 1]; r0 += kListTile) {
          const int64_t n = std::min(off[l + 1], r0 + kListTile) - r0;
          const float* x = base32 ? base32 + r0 * d : nullptr;
          if (!x) {
            widened.resize(size_t(n * d));
            for (int64_t i = 0; i < n * d; ++i) widened[size_t(i)] = float(base16[r0 * d + i]);
            x = widened.data();
          }
          knn_dot_block(qv, 1, x, n, d, ip.data());
          knn_scan_row(ip.data(), nrm ? nrm + r0 : nullptr, a, n, row_ids + r0, ok ? ok + r0 : nullptr, top);
        }
      }
      float offset = 0;
      if (metric == KnnMetric::L2)
        for (int64_t t = 0; t < d; ++t) offset += qv[t] * qv[t];
      top.finish(metric, offset, dist + qi * k, out + qi * k);
    }
  });
}

}  // namespace aimass::cpu
