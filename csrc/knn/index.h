// The Index interface every k-nearest-neighbour index implements (FlatIndex, IVFFlatIndex),
// on the CPU or a CUDA device. Vectors go in as (n, d) floating tensors from any device and are
// stored in the index's dtype (float32 or float16) on its device; ids are int64, unique within
// an index. Searches return ops/knn.h's KnnResult: scores by its rules (squared L2 ascending,
// inner product or cosine similarity descending; ties by smaller id; unfilled slots id -1).
// Memory: a search holds the (nq, k) result plus kernel tiles of bounded size (ops/knn.h).
//
// Threads: an index is safe to use from many threads at once. The public methods are not
// virtual; each takes the index's reader-writer lock (shared for search, range_search,
// reconstruct, state, ntotal, is_trained, device; exclusive for train, add, remove, reset, to)
// and calls the protected *_impl method that a subclass overrides. Any number of searches run
// in parallel; a writer waits for them and excludes them. An implementation calls other *_impl
// methods (never the public ones, which would lock again). A waiting writer goes before new
// readers (core/rw_lock.h), so a stream of searches cannot starve an add.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "core/device.h"
#include "core/dtype.h"
#include "core/rw_lock.h"
#include "core/tensor.h"
#include "ops/knn.h"

namespace aimass::knn {

enum class Metric : uint8_t { L2, InnerProduct, Cosine };

// "l2", "ip" (or "inner_product"), "cosine"; ValueError naming the accepted names otherwise.
Metric parse_metric(const std::string& name);
std::string metric_name(Metric m);  // "l2", "ip", "cosine"
// The kernels' metric: cosine is the inner product of unit vectors.
constexpr KnnMetric kernel_metric(Metric m) { return m == Metric::L2 ? KnnMetric::L2 : KnnMetric::InnerProduct; }

// Which ids a search may return: one of the two, or neither (no filter).
struct Filter {
  Tensor allowed_ids;  // int64 (m,): these ids (ids not in the index are ignored)
  Tensor id_mask;      // bool (n,): id i allowed when 0 <= i < n and id_mask[i]
  bool active() const { return allowed_ids.defined() || id_mask.defined(); }
};

// FAISS's range-search layout: query i's hits are distances / ids [lims[i], lims[i + 1]),
// sorted best first (ties by smaller id).
struct RangeResult {
  Tensor lims;       // (nq + 1,) int64
  Tensor distances;  // (total,) float32
  Tensor ids;        // (total,) int64
};

// Everything needed to rebuild an index: what save() writes and load() reads (the Python
// layer stores it as one safetensors file; see python/aimass/knn/_io.py for the format).
struct IndexState {
  std::string type;                       // "FlatIndex", "IVFFlatIndex"
  int64_t d = 0;
  Metric metric = Metric::L2;
  DType dtype = DType::Float32;
  std::map<std::string, int64_t> ints;    // type-specific settings (nlist, nprobe, ...)
  std::map<std::string, Tensor> tensors;  // CPU tensors (vectors, ids, centroids, ...)
};

class Index {
 public:
  Index(int64_t d, Metric metric, Device device, DType dtype);
  virtual ~Index() = default;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  int64_t d() const { return d_; }
  Metric metric() const { return metric_; }
  DType dtype() const { return dtype_; }
  Device device() const;

  virtual std::string type_name() const = 0;
  int64_t ntotal() const;
  bool is_trained() const;
  // x: (n, d) floating on any device. Indexes that need no training accept and ignore it.
  void train(const Tensor& x);
  // x: (n, d) floating; ids: (n,) integer, or undefined for ntotal() .. ntotal() + n - 1 (then
  // they must not collide either). ValueError on a duplicate id (within x or with the index),
  // non-finite values, a wrong d; the index is unchanged on any error.
  void add(const Tensor& x, const Tensor& ids);
  // q: (nq, d) floating -> (nq, k) on the index's device. 1 <= k <= ntotal() (ValueError
  // otherwise, naming both); with a filter, slots beyond the allowed rows are unfilled.
  KnnResult search(const Tensor& q, int64_t k, const Filter& filter) const;
  // Every row within radius: squared L2 < radius, or score > radius for ip / cosine (FAISS).
  // Results on the CPU.
  RangeResult range_search(const Tensor& q, double radius, const Filter& filter) const;
  // ids: (m,) integer; those present are removed (others ignored); returns how many were.
  int64_t remove(const Tensor& ids);
  void reset();  // removes every vector (a trained index stays trained)
  // The stored vector of `id` as (d,) float32 on the CPU (after cosine normalisation, in the
  // index's dtype's precision); KeyError-like ValueError if absent.
  Tensor reconstruct(int64_t id) const;
  // Moves every buffer to `device` (no-op when already there).
  void to(Device device);
  IndexState state() const;

 protected:
  using ReadLock = std::shared_lock<std::shared_mutex>;
  using WriteLock = std::unique_lock<std::shared_mutex>;
  ReadLock read_lock() const { return lock_.read(); }
  WriteLock write_lock() { return lock_.write(); }

  // What the public methods call with the lock held (shared for the const ones).
  virtual int64_t ntotal_impl() const = 0;
  virtual bool is_trained_impl() const { return true; }
  virtual void train_impl(const Tensor& x) {}
  virtual void add_impl(const Tensor& x, const Tensor& ids) = 0;
  virtual KnnResult search_impl(const Tensor& q, int64_t k, const Filter& filter) const = 0;
  virtual RangeResult range_search_impl(const Tensor& q, double radius, const Filter& filter) const = 0;
  virtual int64_t remove_impl(const Tensor& ids) = 0;
  virtual void reset_impl() = 0;
  virtual Tensor reconstruct_impl(int64_t id) const = 0;
  virtual void to_impl(Device device) = 0;
  virtual IndexState state_impl() const = 0;

  // A state with what every index has (type, d, metric, dtype) filled in.
  IndexState base_state() const;

  const int64_t d_;
  const Metric metric_;
  Device device_;  // changed by to() only, under the exclusive lock
  const DType dtype_;

 private:
  ReadWriteLock lock_;
};

// Rebuilds an index from a state, checking everything a corrupt file could break (shapes,
// dtypes, unique ids, list offsets); ValueError naming the field otherwise.
std::unique_ptr<Index> index_from_state(const IndexState& state, Device device);

}  // namespace aimass::knn
