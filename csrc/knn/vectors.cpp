#include "knn/vectors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace aimass::knn {

Tensor prepare_vectors(const Tensor& x, int64_t d, Metric metric, Device device, const char* what) {
  AM_CHECK(x.defined(), ValueError, what, ": vectors are missing");
  AM_CHECK(x.dim() == 2, ValueError, what, ": vectors must be 2-D (n, ", d, "), got ", x.describe());
  AM_CHECK(x.shape()[1] == d, ValueError, what, ": vectors have ", x.shape()[1], " columns, the index has d = ", d);
  AM_CHECK(is_floating(x.dtype()), TypeError, what, ": vectors must be floating point, got ", x.describe());
  Tensor v = contiguous(to_dtype(to_device(x, device), DType::Float32));
  if (v.numel() == 0) return v;
  // A finite sum proves every value finite, without a temporary; only a non-finite sum (NaN,
  // infinity, or an overflow of huge finite values) pays for the exact test: x * 0 is NaN
  // exactly where x is NaN or infinite.
  const double sum = item(reduce(ReduceOp::Sum, v, std::nullopt, false)).to<double>();
  if (!std::isfinite(sum)) {
    const double probe =
        item(reduce(ReduceOp::Sum, binary(BinaryOp::Mul, v, Scalar::from_float(0.0)), std::nullopt, false)).to<double>();
    AM_CHECK(!std::isnan(probe), ValueError, what, ": vectors contain NaN or infinity");
  }
  if (metric == Metric::Cosine) {
    Tensor norms = unary(UnaryOp::Sqrt, reduce(ReduceOp::Sum, binary(BinaryOp::Mul, v, v), std::vector<int64_t>{1}, true));
    // A zero row divides by a tiny number instead of 0 and stays zero.
    v = contiguous(binary(BinaryOp::Div, v, binary(BinaryOp::Maximum, norms, Scalar::from_float(1e-30))));
  }
  return v;
}

Tensor prepare_ids(const Tensor& ids, int64_t n, int64_t next_id, const char* what) {
  Tensor out = Tensor::empty({n}, DType::Int64);
  int64_t* o = out.data<int64_t>();
  if (!ids.defined()) {
    for (int64_t i = 0; i < n; ++i) o[i] = next_id + i;
    return out;
  }
  AM_CHECK(ids.dim() == 1 && ids.shape()[0] == n, ValueError, what, ": ids must be (", n, ",), one per vector, got ",
           ids.describe());
  std::vector<int64_t> v = ids_to_vector(ids, what);
  for (int64_t id : v)
    // -1 marks an unfilled result slot and INT64_MAX an empty one inside the CUDA selection.
    AM_CHECK(id >= 0 && id < std::numeric_limits<int64_t>::max(), ValueError, what, ": id ", id,
             " is out of range: ids must be in [0, 2**63 - 2]");
  std::copy(v.begin(), v.end(), o);
  return out;
}

std::vector<int64_t> ids_to_vector(const Tensor& ids, const char* what) {
  AM_CHECK(ids.defined() && ids.dim() == 1, ValueError, what, ": ids must be 1-D, got ",
           ids.defined() ? ids.describe() : std::string("nothing"));
  AM_CHECK(is_integral(ids.dtype()) && ids.dtype() != DType::Bool, TypeError, what, ": ids must be integers, got ",
           ids.describe());
  Tensor c = contiguous(to_dtype(to_device(ids, Device()), DType::Int64));
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

Tensor allowed_rows(const Filter& filter, const Tensor& row_ids, const char* what) {
  const int64_t n = row_ids.numel();
  const int64_t* ids = row_ids.data<int64_t>();
  Tensor out = Tensor::empty({n}, DType::Bool);
  bool* a = out.data<bool>();
  if (filter.id_mask.defined()) {
    const Tensor& m = filter.id_mask;
    AM_CHECK(m.dim() == 1 && m.dtype() == DType::Bool, ValueError, what,
             ": a filter mask must be a 1-D bool array over ids, got ", m.describe());
    Tensor mc = contiguous(to_device(m, Device()));
    const bool* mp = mc.data<bool>();
    const int64_t len = mc.numel();
    for (int64_t i = 0; i < n; ++i) a[i] = ids[i] >= 0 && ids[i] < len && mp[ids[i]];
  } else {
    std::vector<int64_t> allowed = ids_to_vector(filter.allowed_ids, what);
    std::unordered_set<int64_t> set(allowed.begin(), allowed.end());
    for (int64_t i = 0; i < n; ++i) a[i] = set.count(ids[i]) != 0;
  }
  return out;
}

void check_k(int64_t k, int64_t ntotal, const char* what) {
  AM_CHECK(k >= 1, ValueError, what, ": k must be at least 1, got ", k);
  AM_CHECK(k <= ntotal, ValueError, what, ": k = ", k, " exceeds the ", ntotal, " vectors in the index");
}

}  // namespace aimass::knn
