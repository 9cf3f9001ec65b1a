#include "knn/range_search.h"

#include <algorithm>
#include <vector>

#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/shape.h"

namespace aimass::knn {

RangeResult range_search_rows(const Tensor& queries, const Tensor& rows, const Tensor& norms, const Tensor& host_ids,
                              const Tensor& allowed, KnnMetric metric, double radius) {
  const int64_t nq = queries.shape()[0], n = rows.shape()[0];
  const bool l2 = metric == KnnMetric::L2;
  const float r = float(radius);
  std::vector<std::vector<cpu::KnnCandidate>> hits(static_cast<size_t>(nq));
  const int64_t* ids = host_ids.data<int64_t>();
  const bool* ok = allowed.defined() ? allowed.data<bool>() : nullptr;
  for (int64_t q0 = 0; q0 < nq; q0 += kRangeTileQueries) {
    const int64_t q1 = std::min(nq, q0 + kRangeTileQueries);
    Tensor qt = index(queries, {TensorIndex::slice(q0, q1, 1)});
    Tensor qn;
    if (l2) qn = unsqueeze(knn_row_norms(qt), 1);  // (tile, 1)
    for (int64_t r0 = 0; r0 < n; r0 += kRangeTileRows) {
      const int64_t r1 = std::min(n, r0 + kRangeTileRows);
      Tensor rt = to_dtype(index(rows, {TensorIndex::slice(r0, r1, 1)}), DType::Float32);
      // scores (q1 - q0, r1 - r0): q . x, or ||q||^2 - 2 q . x + ||x||^2
      Tensor s = matmul(qt, transpose(rt, 0, 1));
      if (l2) {
        Tensor nt = index(norms, {TensorIndex::slice(r0, r1, 1)});
        s = binary(BinaryOp::Add, binary(BinaryOp::Add, binary(BinaryOp::Mul, s, Scalar::from_float(-2.0)), qn),
                   unsqueeze(nt, 0));
      }
      Tensor host = contiguous(to_device(s, Device()));
      const float* p = host.data<float>();
      const int64_t w = r1 - r0;
      for (int64_t i = 0; i < q1 - q0; ++i)
        for (int64_t j = 0; j < w; ++j) {
          float v = p[i * w + j];
          if (l2) v = std::max(v, 0.0f);
          if ((l2 ? v < r : v > r) && (!ok || ok[r0 + j])) hits[size_t(q0 + i)].push_back({l2 ? v : -v, ids[r0 + j]});
        }
    }
  }
  return pack_range_hits(hits, metric);
}

RangeResult pack_range_hits(std::vector<std::vector<cpu::KnnCandidate>>& hits, KnnMetric metric) {
  const int64_t nq = int64_t(hits.size());
  RangeResult out;
  out.lims = Tensor::empty({nq + 1}, DType::Int64);
  int64_t* lims = out.lims.data<int64_t>();
  lims[0] = 0;
  for (int64_t i = 0; i < nq; ++i) lims[i + 1] = lims[i] + int64_t(hits[size_t(i)].size());
  out.distances = Tensor::empty({lims[nq]}, DType::Float32);
  out.ids = Tensor::empty({lims[nq]}, DType::Int64);
  float* dist = out.distances.data<float>();
  int64_t* oid = out.ids.data<int64_t>();
  const float sign = metric == KnnMetric::L2 ? 1.0f : -1.0f;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<cpu::KnnCandidate>& h = hits[size_t(i)];
    std::sort(h.begin(), h.end());
    for (size_t j = 0; j < h.size(); ++j) dist[lims[i] + int64_t(j)] = sign * h[j].key, oid[lims[i] + int64_t(j)] = h[j].id;
  }
  return out;
}

}  // namespace aimass::knn
