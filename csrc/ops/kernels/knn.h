// k-nearest-neighbour search kernels. The op layer (ops/knn.h) states the layouts, the scores
// and the order of the results once; csrc/knn builds indexes on it. CPU: ops/cpu/knn_flat.cpp,
// ops/cpu/knn_ivf.cpp; CUDA: ops/cuda/knn_flat.cu, ops/cuda/knn_ivf.cu.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"
#include "ops/knn.h"

namespace aimass {

// knn_flat_search (ops/knn.h), tiled over queries and base so that working memory stays bounded,
// writing each query's k best rows into out_dist (nq, k) float32 and out_ids (nq, k) int64,
// contiguous (k >= 1, nb >= 0). 16-bit base rows are widened to float32 per tile on the CPU;
// CUDA runs the GEMM in fp16 with fp32 accumulation.
AIMASS_KERNEL(knn_flat_search, void,
              (const Tensor& queries, const Tensor& base, const Tensor& base_norms, const Tensor& base_ids,
               const Tensor& allowed, KnnMetric metric, const Tensor& out_dist, const Tensor& out_ids))
// knn_ivf_search (ops/knn.h), into out_dist and out_ids as above. A list probed twice by one
// query is scanned once.
AIMASS_KERNEL(knn_ivf_search, void,
              (const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
               const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
               const Tensor& out_dist, const Tensor& out_ids))

}  // namespace aimass
