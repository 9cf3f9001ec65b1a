// Inverted-file search (FAISS's IndexIVFFlat, plus cosine, ids, removal and filters): k-means
// splits space into nlist cells; each stored vector goes into the list of its nearest
// centroid, and a search scans only the nprobe lists whose centroids are nearest the query.
//
// Layout on the index's device, grouped by list (CSR, as ops/knn.h's knn_ivf_search wants):
// lists (ntotal, d) in the index's dtype, the rows of list l being lists[offsets[l] :
// offsets[l + 1]], in the order they were added; norms (ntotal,) float32 (L2); ids (ntotal,)
// int64; offsets (nlist + 1,) int64. Host copies of ids and offsets serve filters, removal and
// range search. An add rebuilds the packed arrays once per call (O(ntotal + n)).
//
// The coarse quantizer is a flat search over the centroids: L2 by squared distance; ip and
// cosine by inner product with unit centroids from spherical k-means (as FAISS does for
// METRIC_INNER_PRODUCT).
#pragma once
#include <memory>
#include <vector>

#include "knn/id_map.h"
#include "knn/index.h"

namespace aimass::knn {

class IVFFlatIndex : public Index {
 public:
  // niter / seed: the k-means that train() runs (FAISS trains IVF with 10 iterations).
  IVFFlatIndex(int64_t d, int64_t nlist, Metric metric, Device device = Device(), DType dtype = DType::Float32,
               int64_t niter = 10, uint64_t seed = 0);

  std::string type_name() const override { return "IVFFlatIndex"; }
  static std::unique_ptr<IVFFlatIndex> from_state(const IndexState& state, Device device);

  int64_t nlist() const { return nlist_; }
  int64_t nprobe() const;
  // ValueError below 1; values above nlist are clamped to nlist (every list).
  void set_nprobe(int64_t nprobe);
  // (nlist, d) float32 on the CPU; ValueError before training.
  Tensor centroids() const;
  // (nlist,) int64 on the CPU: rows per list.
  Tensor list_sizes() const;
  // (n, nprobe) int64 on the index's device: the lists each prepared query probes, nearest first.
  Tensor probes(const Tensor& queries, int64_t nprobe) const;

 protected:
  int64_t ntotal_impl() const override { return host_ids_.numel(); }
  bool is_trained_impl() const override { return centroids_.defined(); }
  // x: (n, d) with n >= nlist; ValueError when the index already holds vectors.
  void train_impl(const Tensor& x) override;
  void add_impl(const Tensor& x, const Tensor& ids) override;
  KnnResult search_impl(const Tensor& q, int64_t k, const Filter& filter) const override;
  // Over the rows of each query's nprobe probed lists only (as FAISS).
  RangeResult range_search_impl(const Tensor& q, double radius, const Filter& filter) const override;
  int64_t remove_impl(const Tensor& ids) override;
  void reset_impl() override;
  Tensor reconstruct_impl(int64_t id) const override;
  void to_impl(Device device) override;
  IndexState state_impl() const override;

 private:
  void check_trained(const char* what) const;
  Tensor centroids_impl() const;
  Tensor probes_impl(const Tensor& queries, int64_t nprobe) const;
  void set_centroids(const Tensor& centroids);  // (nlist, d) float32 on device_
  // Replaces the stored rows: rows / norms / ids on device_, host_ids on the CPU, offsets (nlist + 1).
  void assign_lists(const Tensor& rows, const Tensor& norms, const Tensor& ids, const Tensor& host_ids,
                    std::vector<int64_t> offsets);
  // Keeps the rows at `keep` (int64, CPU, ascending or any order that stays grouped by list).
  void gather_rows(const Tensor& keep, std::vector<int64_t> offsets);

  const int64_t nlist_;
  int64_t nprobe_ = 1;
  const int64_t niter_;
  const uint64_t seed_;
  Tensor centroids_;       // (nlist, d) float32; undefined until trained
  Tensor centroid_norms_;  // (nlist,) float32 (L2 only)
  Tensor centroid_ids_;    // (nlist,) int64: 0 .. nlist - 1, so the coarse search yields list numbers
  Tensor lists_;           // (ntotal, d) dtype
  Tensor norms_;           // (ntotal,) float32 (L2 only)
  Tensor ids_;             // (ntotal,) int64 on the device
  Tensor host_ids_;        // (ntotal,) int64 on the CPU
  Tensor offsets_;         // (nlist + 1,) int64 on the device
  std::vector<int64_t> host_offsets_;
  IdMap id_rows_;
};

}  // namespace aimass::knn
