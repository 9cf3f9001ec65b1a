#include "knn/flat_index.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "knn/range_search.h"
#include "knn/vectors.h"
#include "ops/convert.h"
#include "ops/index.h"

namespace aimass::knn {

FlatIndex::FlatIndex(int64_t d, Metric metric, Device device, DType dtype)
    : Index(d, metric, device, dtype),
      vectors_(d, dtype, device),
      norms_(0, DType::Float32, device),
      ids_(0, DType::Int64, device),
      host_ids_(0, DType::Int64, Device()) {}

Tensor FlatIndex::vectors() const {
  ReadLock lock = read_lock();
  return vectors_.view();
}

Tensor FlatIndex::ids() const {
  ReadLock lock = read_lock();
  return ids_.view();
}

void FlatIndex::append(const Tensor& prepared, const Tensor& host_ids) {
  const int64_t first = ntotal_impl();
  // Norms of the stored (possibly float16-rounded) rows, so L2 scores match what is stored.
  Tensor stored = to_dtype(prepared, dtype_);
  vectors_.append(stored);
  if (metric_ == Metric::L2) norms_.append(knn_row_norms(stored));
  ids_.append(host_ids);
  host_ids_.append(host_ids);
  id_rows_.insert(host_ids.data<int64_t>(), host_ids.numel(), first);
}

void FlatIndex::add_impl(const Tensor& x, const Tensor& ids) {
  const char* what = "FlatIndex.add";
  Tensor v = prepare_vectors(x, d_, metric_, device_, what);
  Tensor host_ids = prepare_ids(ids, v.shape()[0], ntotal_impl(), what);
  id_rows_.check_new(host_ids.data<int64_t>(), host_ids.numel(), what);
  append(v, host_ids);
}

Tensor FlatIndex::allowed_on_device(const Filter& filter, const char* what) const {
  if (!filter.active()) return Tensor();
  return to_device(allowed_rows(filter, host_ids_.view(), what), device_);
}

KnnResult FlatIndex::search_impl(const Tensor& q, int64_t k, const Filter& filter) const {
  const char* what = "FlatIndex.search";
  Tensor queries = prepare_vectors(q, d_, metric_, device_, what);
  check_k(k, ntotal_impl(), what);
  return knn_flat_search(queries, vectors_.view(), metric_ == Metric::L2 ? norms_.view() : Tensor(), ids_.view(),
                         allowed_on_device(filter, what), kernel_metric(metric_), k);
}

RangeResult FlatIndex::range_search_impl(const Tensor& q, double radius, const Filter& filter) const {
  const char* what = "FlatIndex.range_search";
  AM_CHECK(!std::isnan(radius), ValueError, what, ": radius is NaN");
  Tensor queries = prepare_vectors(q, d_, metric_, device_, what);
  Tensor allowed = filter.active() ? allowed_rows(filter, host_ids_.view(), what) : Tensor();
  return range_search_rows(queries, vectors_.view(), metric_ == Metric::L2 ? norms_.view() : Tensor(),
                           host_ids_.view(), allowed, kernel_metric(metric_), radius);
}

int64_t FlatIndex::remove_impl(const Tensor& ids) {
  int64_t removed = 0;
  const std::vector<uint8_t> drop = id_rows_.rows_to_drop(ids_to_vector(ids, "FlatIndex.remove"), ntotal_impl(), &removed);
  if (removed == 0) return 0;
  std::vector<int64_t> kept;
  kept.reserve(size_t(ntotal_impl() - removed));
  for (int64_t r = 0; r < ntotal_impl(); ++r)
    if (!drop[size_t(r)]) kept.push_back(r);
  Tensor keep = host_tensor(kept);
  // Gather the kept rows on the device, then rebuild the id map from the kept ids.
  Tensor keep_dev = to_device(keep, device_);
  const std::vector<TensorIndex> sel{TensorIndex::of(keep_dev)};
  Tensor v = index(vectors_.view(), sel);
  Tensor n = metric_ == Metric::L2 ? index(norms_.view(), sel) : Tensor();
  Tensor i = index(ids_.view(), sel);
  Tensor h = index(host_ids_.view(), {TensorIndex::of(keep)});
  vectors_.assign(v);
  if (n.defined()) norms_.assign(n);
  ids_.assign(i);
  host_ids_.assign(h);
  id_rows_.rebuild(h.data<int64_t>(), h.numel());
  return removed;
}

void FlatIndex::reset_impl() {
  vectors_.clear();
  norms_.clear();
  ids_.clear();
  host_ids_.clear();
  id_rows_.clear();
}

Tensor FlatIndex::reconstruct_impl(int64_t id) const {
  const int64_t row = id_rows_.row_of(id);
  AM_CHECK(row >= 0, ValueError, "FlatIndex.reconstruct: id ", id, " is not in the index");
  return contiguous(to_dtype(to_device(index(vectors_.view(), {TensorIndex::integer(row)}), Device()), DType::Float32));
}

void FlatIndex::to_impl(Device device) {
  if (device == device_) return;
  vectors_.to(device);
  norms_.to(device);
  ids_.to(device);
  device_ = device;
}

IndexState FlatIndex::state_impl() const {
  IndexState s = base_state();
  s.tensors["vectors"] = contiguous(to_device(vectors_.view(), Device()));
  s.tensors["ids"] = host_ids_.view();
  return s;
}

// Checks a saved store: vectors (n, d) of the dtype, finite; ids (n,) int64, unique.
std::unique_ptr<FlatIndex> FlatIndex::from_state(const IndexState& state, Device device) {
  auto index = std::make_unique<FlatIndex>(state.d, state.metric, device, state.dtype);
  auto find = [&](const char* name) -> const Tensor& {
    auto it = state.tensors.find(name);
    AM_CHECK(it != state.tensors.end(), ValueError, "FlatIndex: the saved index has no '", name, "' tensor");
    return it->second;
  };
  const Tensor& v = find("vectors");
  const Tensor& ids = find("ids");
  AM_CHECK(v.dim() == 2 && v.shape()[1] == state.d, ValueError, "FlatIndex: saved vectors are ", v.describe(),
           ", expected (n, ", state.d, ")");
  AM_CHECK(v.dtype() == state.dtype, ValueError, "FlatIndex: saved vectors are ", dtype_name(v.dtype()),
           ", the index says ", dtype_name(state.dtype));
  AM_CHECK(ids.dim() == 1 && ids.dtype() == DType::Int64 && ids.shape()[0] == v.shape()[0], ValueError,
           "FlatIndex: saved ids are ", ids.describe(), ", expected int64 (", v.shape()[0], ",)");
  Tensor host_ids = prepare_ids(ids, ids.shape()[0], 0, "FlatIndex: saved ids");  // range-checked
  index->id_rows_.check_new(host_ids.data<int64_t>(), host_ids.numel(), "FlatIndex: saved ids");
  // Stored vectors were normalised when added: only finiteness is checked, not re-normalised.
  Tensor prepared = prepare_vectors(v, state.d, Metric::L2, device, "FlatIndex: saved vectors");
  index->append(prepared, host_ids);
  return index;
}

}  // namespace aimass::knn
