// Range search over a block of rows: every row whose score passes the radius (squared L2 <
// radius, or inner product > radius), per query, sorted best first with ties by smaller id.
// Scores come from GEMM tiles on the rows' device (queries x rows, at most kTileQueries x
// kTileRows floats at a time: 64 MiB), thresholded on the CPU.
#pragma once
#include <vector>

#include "knn/index.h"
#include "ops/cpu/knn_topk.h"

namespace aimass::knn {

constexpr int64_t kRangeTileQueries = 1024;
constexpr int64_t kRangeTileRows = 16384;

// queries: (nq, d) float32 prepared (ops/knn.h rules), on rows' device; rows: (n, d) float32 or
// float16; norms: (n,) float32 (L2) or undefined; host_ids: (n,) int64 CPU; allowed: (n,) bool
// CPU or undefined.
RangeResult range_search_rows(const Tensor& queries, const Tensor& rows, const Tensor& norms, const Tensor& host_ids,
                              const Tensor& allowed, KnnMetric metric, double radius);

// Packs per-query hits (keys as in cpu::TopK: the L2 distance, or the negated inner product)
// into a RangeResult, each query's hits sorted best first with ties by smaller id.
RangeResult pack_range_hits(std::vector<std::vector<cpu::KnnCandidate>>& hits, KnnMetric metric);

}  // namespace aimass::knn
