#include "knn/index.h"

#include "core/error.h"
#include "knn/flat_index.h"
#include "knn/ivf_index.h"

namespace aimass::knn {

Metric parse_metric(const std::string& name) {
  if (name == "l2" || name == "L2" || name == "euclidean") return Metric::L2;
  if (name == "ip" || name == "inner_product" || name == "dot") return Metric::InnerProduct;
  if (name == "cosine") return Metric::Cosine;
  throw ValueError(str_cat("unknown metric '", name, "': expected 'l2', 'ip' or 'cosine'"));
}

std::string metric_name(Metric m) {
  switch (m) {
    case Metric::L2: return "l2";
    case Metric::InnerProduct: return "ip";
    case Metric::Cosine: return "cosine";
  }
  return "?";
}

Index::Index(int64_t d, Metric metric, Device device, DType dtype) : d_(d), metric_(metric), device_(device), dtype_(dtype) {
  AM_CHECK(d >= 1, ValueError, "index: d must be at least 1, got ", d);
  AM_CHECK(dtype == DType::Float32 || dtype == DType::Float16, TypeError,
           "index: dtype must be float32 or float16, got ", dtype_name(dtype));
}

Device Index::device() const {
  ReadLock lock = read_lock();
  return device_;
}

int64_t Index::ntotal() const {
  ReadLock lock = read_lock();
  return ntotal_impl();
}

bool Index::is_trained() const {
  ReadLock lock = read_lock();
  return is_trained_impl();
}


void Index::train(const Tensor& x) {
  WriteLock lock = write_lock();
  train_impl(x);
}

void Index::add(const Tensor& x, const Tensor& ids) {
  WriteLock lock = write_lock();
  add_impl(x, ids);
}

KnnResult Index::search(const Tensor& q, int64_t k, const Filter& filter) const {
  ReadLock lock = read_lock();
  return search_impl(q, k, filter);
}

RangeResult Index::range_search(const Tensor& q, double radius, const Filter& filter) const {
  ReadLock lock = read_lock();
  return range_search_impl(q, radius, filter);
}

int64_t Index::remove(const Tensor& ids) {
  WriteLock lock = write_lock();
  return remove_impl(ids);
}

void Index::reset() {
  WriteLock lock = write_lock();
  reset_impl();
}

Tensor Index::reconstruct(int64_t id) const {
  ReadLock lock = read_lock();
  return reconstruct_impl(id);
}

void Index::to(Device device) {
  WriteLock lock = write_lock();
  to_impl(device);
}

IndexState Index::state() const {
  ReadLock lock = read_lock();
  return state_impl();
}

IndexState Index::base_state() const {
  IndexState s;
  s.type = type_name();
  s.d = d_;
  s.metric = metric_;
  s.dtype = dtype_;
  return s;
}

std::unique_ptr<Index> index_from_state(const IndexState& state, Device device) {
  if (state.type == "FlatIndex") return FlatIndex::from_state(state, device);
  if (state.type == "IVFFlatIndex") return IVFFlatIndex::from_state(state, device);
  throw ValueError(str_cat("unknown index type '", state.type, "': expected FlatIndex or IVFFlatIndex"));
}

}  // namespace aimass::knn
