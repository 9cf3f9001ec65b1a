#include "knn/ivf_index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/parallel.h"
#include "knn/kmeans.h"
#include "knn/range_search.h"
#include "knn/vectors.h"
#include "ops/convert.h"
#include "ops/cpu/knn_topk.h"
#include "ops/index.h"
#include "ops/shape.h"

namespace aimass::knn {

namespace {

Tensor gather(const Tensor& x, const Tensor& rows) {
  if (!x.defined()) return x;
  return contiguous(index(x, {TensorIndex::of(to_device(rows, x.device()))}));
}

}  // namespace

IVFFlatIndex::IVFFlatIndex(int64_t d, int64_t nlist, Metric metric, Device device, DType dtype, int64_t niter,
                           uint64_t seed)
    : Index(d, metric, device, dtype), nlist_(nlist), niter_(niter), seed_(seed) {
  AM_CHECK(nlist >= 1, ValueError, "IVFFlatIndex: nlist must be at least 1, got ", nlist);
  AM_CHECK(niter >= 0, ValueError, "IVFFlatIndex: niter must be >= 0, got ", niter);
  reset_impl();
}

int64_t IVFFlatIndex::nprobe() const {
  ReadLock lock = read_lock();
  return nprobe_;
}

void IVFFlatIndex::set_nprobe(int64_t nprobe) {
  AM_CHECK(nprobe >= 1, ValueError, "IVFFlatIndex: nprobe must be at least 1, got ", nprobe);
  WriteLock lock = write_lock();
  nprobe_ = std::min(nprobe, nlist_);
}

void IVFFlatIndex::check_trained(const char* what) const {
  AM_CHECK(is_trained_impl(), ValueError, what, ": the index is not trained: call train(x) with at least nlist = ", nlist_,
           " vectors first");
}

void IVFFlatIndex::set_centroids(const Tensor& centroids) {
  centroids_ = contiguous(centroids);
  centroid_norms_ = metric_ == Metric::L2 ? knn_row_norms(centroids_) : Tensor();
  Tensor ids = Tensor::empty({nlist_}, DType::Int64);
  std::iota(ids.data<int64_t>(), ids.data<int64_t>() + nlist_, int64_t(0));
  centroid_ids_ = to_device(ids, device_);
}

void IVFFlatIndex::train_impl(const Tensor& x) {
  const char* what = "IVFFlatIndex.train";
  Tensor v = prepare_vectors(x, d_, metric_, device_, what);
  AM_CHECK(v.shape()[0] >= nlist_, ValueError, what, ": ", v.shape()[0], " training vectors are fewer than nlist = ",
           nlist_);
  AM_CHECK(ntotal_impl() == 0, ValueError, what, ": the index holds ", ntotal_impl(), " vectors: reset() before training again");
  KMeansOptions opt;
  opt.k = nlist_;
  opt.niter = niter_;
  opt.seed = seed_;
  opt.metric = kernel_metric(metric_);
  opt.spherical = metric_ != Metric::L2;
  set_centroids(kmeans(v, opt, what).centroids);
}

Tensor IVFFlatIndex::probes(const Tensor& queries, int64_t nprobe) const {
  ReadLock lock = read_lock();
  return probes_impl(queries, nprobe);
}

Tensor IVFFlatIndex::probes_impl(const Tensor& queries, int64_t nprobe) const {
  return knn_flat_search(queries, centroids_, centroid_norms_, centroid_ids_, Tensor(), kernel_metric(metric_), nprobe)
      .ids;
}

void IVFFlatIndex::assign_lists(const Tensor& rows, const Tensor& norms, const Tensor& ids, const Tensor& host_ids,
                                std::vector<int64_t> offsets) {
  lists_ = rows;
  norms_ = norms;
  ids_ = ids;
  host_ids_ = host_ids;
  host_offsets_ = std::move(offsets);
  offsets_ = to_device(host_tensor(host_offsets_), device_);
  id_rows_.rebuild(host_ids_.data<int64_t>(), host_ids_.numel());
}

void IVFFlatIndex::add_impl(const Tensor& x, const Tensor& ids) {
  const char* what = "IVFFlatIndex.add";
  Tensor v = prepare_vectors(x, d_, metric_, device_, what);
  check_trained(what);
  const int64_t m = v.shape()[0], n = ntotal_impl();
  Tensor new_ids = prepare_ids(ids, m, n, what);
  id_rows_.check_new(new_ids.data<int64_t>(), m, what);
  if (m == 0) return;
  Tensor assign = contiguous(to_device(probes_impl(v, 1), Device()));  // (m, 1)
  const int64_t* a = assign.data<int64_t>();

  // Where each row of [old rows; new rows] goes: list by list, old rows first, then new ones
  // in the order given.
  std::vector<int64_t> count(size_t(nlist_), 0);
  for (int64_t i = 0; i < m; ++i) ++count[size_t(a[i])];
  std::vector<int64_t> offsets(size_t(nlist_ + 1), 0), fill(static_cast<size_t>(nlist_));
  for (int64_t l = 0; l < nlist_; ++l) {
    const int64_t old = host_offsets_[size_t(l + 1)] - host_offsets_[size_t(l)];
    offsets[size_t(l + 1)] = offsets[size_t(l)] + old + count[size_t(l)];
    fill[size_t(l)] = offsets[size_t(l)] + old;
  }
  std::vector<int64_t> order(size_t(n + m));
  for (int64_t l = 0; l < nlist_; ++l)
    std::iota(order.begin() + offsets[size_t(l)], order.begin() + fill[size_t(l)], host_offsets_[size_t(l)]);
  for (int64_t i = 0; i < m; ++i) order[size_t(fill[size_t(a[i])]++)] = n + i;
  Tensor rows = host_tensor(order);

  // Norms of the stored (possibly float16-rounded) rows, so L2 scores match what is stored.
  Tensor stored = to_dtype(v, dtype_);
  auto joined = [&](const Tensor& old, const Tensor& extra) {
    return gather(n == 0 ? extra : concatenate({old, extra}, 0), rows);
  };
  Tensor all_rows = joined(lists_, stored);
  Tensor all_norms = metric_ == Metric::L2 ? joined(norms_, knn_row_norms(stored)) : Tensor();
  Tensor all_ids = joined(ids_, to_device(new_ids, device_));
  Tensor all_host = joined(host_ids_, new_ids);
  assign_lists(all_rows, all_norms, all_ids, all_host, std::move(offsets));
}

KnnResult IVFFlatIndex::search_impl(const Tensor& q, int64_t k, const Filter& filter) const {
  const char* what = "IVFFlatIndex.search";
  Tensor queries = prepare_vectors(q, d_, metric_, device_, what);
  check_trained(what);
  check_k(k, ntotal_impl(), what);
  Tensor allowed = filter.active() ? to_device(allowed_rows(filter, host_ids_, what), device_) : Tensor();
  return knn_ivf_search(queries, lists_, norms_, ids_, allowed, offsets_, probes_impl(queries, nprobe_),
                        kernel_metric(metric_), k);
}

RangeResult IVFFlatIndex::range_search_impl(const Tensor& q, double radius, const Filter& filter) const {
  const char* what = "IVFFlatIndex.range_search";
  AM_CHECK(!std::isnan(radius), ValueError, what, ": radius is NaN");
  Tensor queries = prepare_vectors(q, d_, metric_, device_, what);
  check_trained(what);
  const int64_t nq = queries.shape()[0];
  const bool l2 = metric_ == Metric::L2;
  const float r = float(radius);
  Tensor pr = contiguous(to_device(probes_impl(queries, nprobe_), Device()));
  Tensor qh = contiguous(to_device(queries, Device()));
  Tensor xh = contiguous(to_dtype(to_device(lists_, Device()), DType::Float32));
  Tensor nh = l2 ? contiguous(to_device(norms_, Device())) : Tensor();
  Tensor allowed = filter.active() ? allowed_rows(filter, host_ids_, what) : Tensor();
  const bool* ok = allowed.defined() ? allowed.data<bool>() : nullptr;
  const int64_t* ids = host_ids_.data<int64_t>();

  // Query by query over its probed lists, scored as the search kernel scores them.
  std::vector<std::vector<cpu::KnnCandidate>> hits(static_cast<size_t>(nq));
  parallel_for(0, nq, 1, [&](int64_t q0, int64_t q1) {
    std::vector<float> ip;
    for (int64_t i = q0; i < q1; ++i) {
      const float* qi = qh.data<float>() + i * d_;
      float qn = 0;
      for (int64_t t = 0; t < d_; ++t) qn += qi[t] * qi[t];
      for (int64_t j = 0; j < nprobe_; ++j) {
        const int64_t l = pr.data<int64_t>()[i * nprobe_ + j];
        if (l < 0) continue;
        const int64_t a = host_offsets_[size_t(l)], n = host_offsets_[size_t(l + 1)] - a;
        ip.resize(static_cast<size_t>(n));
        cpu::knn_dot_block(qi, 1, xh.data<float>() + a * d_, n, d_, ip.data());
        for (int64_t t = 0; t < n; ++t) {
          const float s = l2 ? std::max(qn - 2 * ip[size_t(t)] + nh.data<float>()[a + t], 0.0f) : ip[size_t(t)];
          if ((l2 ? s < r : s > r) && (!ok || ok[a + t])) hits[size_t(i)].push_back({l2 ? s : -s, ids[a + t]});
        }
      }
    }
  });
  return pack_range_hits(hits, kernel_metric(metric_));
}

void IVFFlatIndex::gather_rows(const Tensor& keep, std::vector<int64_t> offsets) {
  assign_lists(gather(lists_, keep), gather(norms_, keep), gather(ids_, keep), gather(host_ids_, keep),
               std::move(offsets));
}

int64_t IVFFlatIndex::remove_impl(const Tensor& ids) {
  int64_t removed = 0;
  const std::vector<uint8_t> drop = id_rows_.rows_to_drop(ids_to_vector(ids, "IVFFlatIndex.remove"), ntotal_impl(), &removed);
  if (removed == 0) return 0;
  std::vector<int64_t> keep, offsets(size_t(nlist_ + 1), 0);
  keep.reserve(size_t(ntotal_impl() - removed));
  for (int64_t l = 0; l < nlist_; ++l) {
    for (int64_t r = host_offsets_[size_t(l)]; r < host_offsets_[size_t(l + 1)]; ++r)
      if (!drop[size_t(r)]) keep.push_back(r);
    offsets[size_t(l + 1)] = int64_t(keep.size());
  }
  gather_rows(host_tensor(keep), std::move(offsets));
  return removed;
}

void IVFFlatIndex::reset_impl() {
  assign_lists(Tensor::empty({0, d_}, dtype_, device_),
               metric_ == Metric::L2 ? Tensor::empty({0}, DType::Float32, device_) : Tensor(),
               Tensor::empty({0}, DType::Int64, device_), Tensor::empty({0}, DType::Int64),
               std::vector<int64_t>(size_t(nlist_ + 1), 0));
}

Tensor IVFFlatIndex::reconstruct_impl(int64_t id) const {
  const int64_t row = id_rows_.row_of(id);
  AM_CHECK(row >= 0, ValueError, "IVFFlatIndex.reconstruct: id ", id, " is not in the index");
  return contiguous(to_dtype(to_device(index(lists_, {TensorIndex::integer(row)}), Device()), DType::Float32));
}

Tensor IVFFlatIndex::centroids() const {
  ReadLock lock = read_lock();
  return centroids_impl();
}

Tensor IVFFlatIndex::centroids_impl() const {
  check_trained("IVFFlatIndex.centroids");
  return contiguous(to_device(centroids_, Device()));
}

Tensor IVFFlatIndex::list_sizes() const {
  ReadLock lock = read_lock();
  Tensor out = Tensor::empty({nlist_}, DType::Int64);
  for (int64_t l = 0; l < nlist_; ++l)
    out.data<int64_t>()[l] = host_offsets_[size_t(l + 1)] - host_offsets_[size_t(l)];
  return out;
}

void IVFFlatIndex::to_impl(Device device) {
  if (device == device_) return;
  auto move = [&](Tensor& t) {
    if (t.defined()) t = to_device(t, device);
  };
  for (Tensor* t : {&centroids_, &centroid_norms_, &centroid_ids_, &lists_, &norms_, &ids_, &offsets_}) move(*t);
  device_ = device;
}

IndexState IVFFlatIndex::state_impl() const {
  IndexState s = base_state();
  s.ints["nlist"] = nlist_;
  s.ints["nprobe"] = nprobe_;
  s.ints["niter"] = niter_;
  s.ints["seed"] = int64_t(seed_);
  s.tensors["vectors"] = contiguous(to_device(lists_, Device()));
  s.tensors["ids"] = host_ids_;
  s.tensors["list_offsets"] = host_tensor(host_offsets_);
  if (is_trained_impl()) s.tensors["centroids"] = centroids_impl();
  return s;
}

// Checks a saved store: settings in range; vectors (n, d) of the dtype, finite; ids (n,) int64
// unique, in range; list_offsets (nlist + 1,) from 0, non-decreasing, to n; centroids (nlist, d) float32
// finite (absent only for an untrained, empty index).
std::unique_ptr<IVFFlatIndex> IVFFlatIndex::from_state(const IndexState& state, Device device) {
  const char* what = "IVFFlatIndex";
  auto setting = [&](const char* name, bool required, int64_t fallback) {
    auto it = state.ints.find(name);
    AM_CHECK(it != state.ints.end() || !required, ValueError, what, ": the saved index has no '", name, "' setting");
    return it == state.ints.end() ? fallback : it->second;
  };
  auto find = [&](const char* name) -> const Tensor* {
    auto it = state.tensors.find(name);
    return it == state.tensors.end() ? nullptr : &it->second;
  };
  auto require = [&](const char* name) -> const Tensor& {
    const Tensor* t = find(name);
    AM_CHECK(t, ValueError, what, ": the saved index has no '", name, "' tensor");
    return *t;
  };
  const int64_t nlist = setting("nlist", true, 0), nprobe = setting("nprobe", true, 1);
  AM_CHECK(nlist >= 1, ValueError, what, ": saved nlist is ", nlist, ", expected at least 1");
  AM_CHECK(nprobe >= 1 && nprobe <= nlist, ValueError, what, ": saved nprobe is ", nprobe, ", expected 1 .. ", nlist);
  const int64_t niter = setting("niter", false, 10), seed = setting("seed", false, 0);
  auto index = std::make_unique<IVFFlatIndex>(state.d, nlist, state.metric, device, state.dtype,
                                              std::max<int64_t>(niter, 0), uint64_t(seed));
  index->nprobe_ = nprobe;

  const Tensor& v = require("vectors");
  const Tensor& ids = require("ids");
  const Tensor& off = require("list_offsets");
  AM_CHECK(v.dim() == 2 && v.shape()[1] == state.d, ValueError, what, ": saved vectors are ", v.describe(),
           ", expected (n, ", state.d, ")");
  AM_CHECK(v.dtype() == state.dtype, ValueError, what, ": saved vectors are ", dtype_name(v.dtype()),
           ", the index says ", dtype_name(state.dtype));
  const int64_t n = v.shape()[0];
  AM_CHECK(ids.dim() == 1 && ids.dtype() == DType::Int64 && ids.shape()[0] == n, ValueError, what, ": saved ids are ",
           ids.describe(), ", expected int64 (", n, ",)");
  AM_CHECK(off.dim() == 1 && off.dtype() == DType::Int64 && off.shape()[0] == nlist + 1, ValueError, what,
           ": saved list_offsets are ", off.describe(), ", expected int64 (", nlist + 1, ",)");
  Tensor oh = contiguous(to_device(off, Device()));
  std::vector<int64_t> offsets(oh.data<int64_t>(), oh.data<int64_t>() + nlist + 1);
  AM_CHECK(offsets.front() == 0 && offsets.back() == n, ValueError, what, ": saved list_offsets run from ",
           offsets.front(), " to ", offsets.back(), ", expected 0 to ", n);
  for (int64_t l = 0; l < nlist; ++l)
    AM_CHECK(offsets[size_t(l)] <= offsets[size_t(l + 1)], ValueError, what, ": saved list_offsets decrease at list ",
             l);
  Tensor host_ids = contiguous(to_device(ids, Device()));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t id = host_ids.data<int64_t>()[i];
    AM_CHECK(id >= 0 && id < std::numeric_limits<int64_t>::max(), ValueError, what, ": saved id ", id,
             " is out of range [0, 2**63 - 2]");
  }
  IdMap check;
  check.check_new(host_ids.data<int64_t>(), n, "IVFFlatIndex: saved ids");

  if (const Tensor* c = find("centroids")) {
    AM_CHECK(c->dim() == 2 && c->shape()[0] == nlist && c->shape()[1] == state.d && c->dtype() == DType::Float32,
             ValueError, what, ": saved centroids are ", c->describe(), ", expected float32 (", nlist, ", ", state.d,
             ")");
    index->set_centroids(prepare_vectors(*c, state.d, Metric::L2, device, "IVFFlatIndex: saved centroids"));
  } else {
    AM_CHECK(n == 0, ValueError, what, ": the saved index holds ", n, " vectors but no 'centroids'");
  }
  // Stored vectors were normalised when added: only finiteness is checked, not re-normalised.
  Tensor prepared = prepare_vectors(v, state.d, Metric::L2, device, "IVFFlatIndex: saved vectors");
  Tensor stored = contiguous(to_dtype(prepared, state.dtype));
  Tensor norms = state.metric == Metric::L2 ? knn_row_norms(stored) : Tensor();
  index->assign_lists(stored, norms, to_device(host_ids, device), host_ids, std::move(offsets));
  return index;
}

}  // namespace aimass::knn
