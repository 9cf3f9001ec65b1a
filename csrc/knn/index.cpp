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
