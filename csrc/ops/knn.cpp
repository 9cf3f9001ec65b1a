#include "ops/knn.h"

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/knn.h"
#include "ops/kernels/reduce.h"
#include "ops/reduce.h"

namespace aimass {

namespace {

void check_rows(const Tensor& queries, const Tensor& base, const Tensor& norms, const Tensor& ids,
                const Tensor& allowed, KnnMetric metric, int64_t k, const char* op) {
  AM_CHECK(queries.dim() == 2 && queries.dtype() == DType::Float32, ValueError, op,
           ": queries must be float32 (nq, d), got ", queries.describe());
  AM_CHECK(base.dim() == 2 && base.shape()[1] == queries.shape()[1], ValueError, op, ": base rows ", base.describe(),
           " do not match queries ", queries.describe());
  AM_CHECK(base.dtype() == DType::Float32 || base.dtype() == DType::Float16, TypeError, op,
           ": base must be float32 or float16, got ", base.describe());
  const int64_t n = base.shape()[0];
  AM_CHECK(ids.defined() && ids.dim() == 1 && ids.shape()[0] == n && ids.dtype() == DType::Int64, ValueError, op,
           ": ids must be int64 (", n, ",), got ", ids.defined() ? ids.describe() : std::string("nothing"));
  if (metric == KnnMetric::L2)
    AM_CHECK(norms.defined() && norms.dim() == 1 && norms.shape()[0] == n && norms.dtype() == DType::Float32,
             ValueError, op, ": L2 needs float32 norms (", n, ",), got ",
             norms.defined() ? norms.describe() : std::string("nothing"));
  if (allowed.defined())
    AM_CHECK(allowed.dim() == 1 && allowed.shape()[0] == n && allowed.dtype() == DType::Bool, ValueError, op,
             ": allowed must be bool (", n, ",), got ", allowed.describe());
  AM_CHECK(k >= 1, ValueError, op, ": k must be at least 1, got ", k);
  for (const Tensor* t : {&base, &norms, &ids, &allowed})
    if (t->defined())
      AM_CHECK(t->device() == queries.device() && t->is_contiguous(), ValueError, op, ": ", t->describe(),
               " must be contiguous on ", queries.device().str());
  AM_CHECK(queries.is_contiguous(), ValueError, op, ": queries must be contiguous");
}

KnnResult empty_result(int64_t nq, int64_t k, Device device) {
  return {Tensor::empty({nq, k}, DType::Float32, device), Tensor::empty({nq, k}, DType::Int64, device)};
}

}  // namespace

KnnResult knn_flat_search(const Tensor& queries, const Tensor& base, const Tensor& base_norms,
                          const Tensor& base_ids, const Tensor& allowed, KnnMetric metric, int64_t k) {
  check_rows(queries, base, base_norms, base_ids, allowed, metric, k, "knn_flat_search");
  KnnResult r = empty_result(queries.shape()[0], k, queries.device());
  knn_flat_search_kernel.on(queries.device())(queries, base, base_norms, base_ids, allowed, metric, r.distances, r.ids);
  return r;
}

KnnResult knn_ivf_search(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                         const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                         int64_t k) {
  const char* op = "knn_ivf_search";
  check_rows(queries, lists, norms, ids, allowed, metric, k, op);
  AM_CHECK(offsets.dim() == 1 && offsets.dtype() == DType::Int64 && offsets.shape()[0] >= 2 &&
               offsets.device() == queries.device() && offsets.is_contiguous(),
           ValueError, op, ": offsets must be contiguous int64 (nlist + 1,) on ", queries.device().str(), ", got ",
           offsets.describe());
  AM_CHECK(probes.dim() == 2 && probes.shape()[0] == queries.shape()[0] && probes.dtype() == DType::Int64 &&
               probes.device() == queries.device() && probes.is_contiguous(),
           ValueError, op, ": probes must be contiguous int64 (nq, nprobe), got ", probes.describe());
  KnnResult r = empty_result(queries.shape()[0], k, queries.device());
  knn_ivf_search_kernel.on(queries.device())(queries, lists, norms, ids, allowed, offsets, probes, metric, r.distances,
                                             r.ids);
  return r;
}

Tensor knn_row_norms(const Tensor& x) {
  AM_CHECK(x.dim() == 2 && is_floating(x.dtype()), ValueError, "knn_row_norms: expected (n, d) floating, got ",
           x.describe());
  if (x.device().is_cpu() && x.dtype() == DType::Float32 && x.is_contiguous()) {
    // One pass with no (n, d) temporary: adding a million vectors should cost what reading them does.
    const int64_t n = x.shape()[0], d = x.shape()[1];
    Tensor out = Tensor::empty({n}, DType::Float32);
    const float* p = x.data<float>();
    float* o = out.data<float>();
    parallel_for(0, n, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(d, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = p + r * d;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t t = 0; t < d; ++t) s += row[t] * row[t];
        o[r] = s;
      }
    });
    return out;
  }
  Tensor f = to_dtype(x, DType::Float32);
  return contiguous(reduce(ReduceOp::Sum, binary(BinaryOp::Mul, f, f), std::vector<int64_t>{1}, false));
}

}  // namespace aimass
