// Exact search over every stored vector (FAISS's IndexFlatL2 / IndexFlatIP, plus cosine, ids,
// removal and filters). Vectors live in one (ntotal, d) buffer on the index's device, with
// their squared norms (L2) and ids beside them; searches run ops/knn.h's flat kernel.
#pragma once
#include <memory>

#include "knn/id_map.h"
#include "knn/index.h"
#include "knn/row_buffer.h"

namespace aimass::knn {

class FlatIndex : public Index {
 public:
  FlatIndex(int64_t d, Metric metric, Device device = Device(), DType dtype = DType::Float32);

  std::string type_name() const override { return "FlatIndex"; }
  static std::unique_ptr<FlatIndex> from_state(const IndexState& state, Device device);

  // The stored rows (ntotal, d) in the index's dtype and their ids (ntotal,) int64, on the
  // index's device: for indexes built on a flat one (IVF's coarse quantizer, k-means). A
  // snapshot: later adds do not change it.
  Tensor vectors() const;
  Tensor ids() const;

 protected:
  int64_t ntotal_impl() const override { return vectors_.size(); }
  void add_impl(const Tensor& x, const Tensor& ids) override;
  KnnResult search_impl(const Tensor& q, int64_t k, const Filter& filter) const override;
  RangeResult range_search_impl(const Tensor& q, double radius, const Filter& filter) const override;
  int64_t remove_impl(const Tensor& ids) override;
  void reset_impl() override;
  Tensor reconstruct_impl(int64_t id) const override;
  void to_impl(Device device) override;
  IndexState state_impl() const override;

 private:
  void append(const Tensor& prepared, const Tensor& host_ids);  // no checks
  Tensor allowed_on_device(const Filter& filter, const char* what) const;

  RowBuffer vectors_;   // (ntotal, d) dtype
  RowBuffer norms_;     // (ntotal,) float32 squared norms (L2 only; empty otherwise)
  RowBuffer ids_;       // (ntotal,) int64 on the device
  RowBuffer host_ids_;  // (ntotal,) int64 on the CPU, for filters and removal
  IdMap id_rows_;
};

}  // namespace aimass::knn
