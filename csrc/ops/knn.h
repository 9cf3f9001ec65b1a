// k-nearest-neighbour search kernels: exact search of a flat database and the scan of an IVF
// index's probed lists, with a fused top-k selection. CPU: ops/cpu/knn_flat.cpp,
// ops/cpu/knn_ivf.cpp (shared selection in ops/cpu/knn_topk.h); CUDA: ops/cuda/knn_flat.cu,
// ops/cuda/knn_ivf.cu (selection in ops/cuda/knn_select.cuh). The indexes built on them are
// in csrc/knn.
//
// Scores: L2 is the squared Euclidean distance (as FAISS), smaller is better, clamped at 0;
// InnerProduct is q . x, larger is better (cosine is InnerProduct on unit vectors: the
// indexes normalise). Results are sorted best first, equal scores by the smaller id; slots a
// query cannot fill (fewer allowed rows than k) hold id -1 and score +inf (L2) / -inf (IP).
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "core/tensor.h"

namespace aimass {

enum class KnnMetric : uint8_t { L2, InnerProduct };

// The score of an unfilled result slot: the worst possible.
constexpr float knn_worst_score(KnnMetric m) {
  return m == KnnMetric::L2 ? __builtin_huge_valf() : -__builtin_huge_valf();
}

struct KnnResult {
  Tensor distances;  // (nq, k) float32
  Tensor ids;        // (nq, k) int64
};

// Exact search. queries: (nq, d) float32; base: (nb, d) float32 or float16; base_norms: (nb,)
// float32 squared row norms of base (L2; undefined for InnerProduct); base_ids: (nb,) int64;
// allowed: (nb,) bool or undefined (every row). All on one device, contiguous. k >= 1 (k may
// exceed nb: the extra slots are unfilled). Memory beyond the result: bounded tiles.
KnnResult knn_flat_search(const Tensor& queries, const Tensor& base, const Tensor& base_norms,
                          const Tensor& base_ids, const Tensor& allowed, KnnMetric metric, int64_t k);

// IVF scan: each query searches only the lists it probes. lists: (ntotal, d) float32 or
// float16, the rows of list l being lists[offsets[l] : offsets[l + 1]]; norms, ids, allowed
// as base_norms, base_ids, allowed above, over lists' rows; offsets: (nlist + 1,) int64
// non-decreasing from 0 to ntotal; probes: (nq, nprobe) int64 list numbers (-1: skip).
KnnResult knn_ivf_search(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                         const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                         int64_t k);

// x: (n, d) float32 or float16 -> (n,) float32 squared norms (computed in float32).
Tensor knn_row_norms(const Tensor& x);

}  // namespace aimass
