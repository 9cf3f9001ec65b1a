// Checking and converting what users hand to an index: vectors, ids and filters.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "knn/index.h"

namespace aimass::knn {

// x: (n, d) floating on any device -> (n, d) float32 contiguous on `device`, unit rows for
// cosine (a zero row stays zero). ValueError naming `what` (e.g. "FlatIndex.add") on a wrong
// rank or width, a non-floating dtype, NaN or infinity.
Tensor prepare_vectors(const Tensor& x, int64_t d, Metric metric, Device device, const char* what);

// ids: (n,) integer on any device, or undefined for next_id .. next_id + n - 1 -> int64 (n,)
// contiguous on the CPU. ValueError naming `what` on a wrong shape or dtype, or an id outside
// [0, 2**63 - 2] (-1 is the unfilled-slot marker of search results).
Tensor prepare_ids(const Tensor& ids, int64_t n, int64_t next_id, const char* what);

// Ids as a host vector (any integer tensor of one dim, any device).
std::vector<int64_t> ids_to_vector(const Tensor& ids, const char* what);

// A CPU tensor of `shape` holding a copy of v (v.size() == the shape's element count).
template <typename T>
Tensor host_tensor(const std::vector<T>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DTypeOf<T>::value);
  std::copy(v.begin(), v.end(), t.template data<T>());
  return t;
}
template <typename T>
Tensor host_tensor(const std::vector<T>& v) {  // 1-D
  return host_tensor(v, {int64_t(v.size())});
}

// Which of `row_ids` (n,) int64 CPU the filter allows: (n,) bool on the CPU. ValueError naming
// `what` when the filter has the wrong dtype or rank.
Tensor allowed_rows(const Filter& filter, const Tensor& row_ids, const char* what);

// The k a search may ask for: 1 <= k <= ntotal; ValueError naming both otherwise.
void check_k(int64_t k, int64_t ntotal, const char* what);

}  // namespace aimass::knn
