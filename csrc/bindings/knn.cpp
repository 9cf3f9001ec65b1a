// aimass._core.knn: the k-nearest-neighbour indexes (use aimass.knn, which adds NumPy in and
// out, filters and save / load). Searches release the GIL.
#include "bindings/bindings.h"
#include "knn/flat_index.h"
#include "knn/index.h"
#include "knn/ivf_index.h"
#include "knn/kmeans.h"

namespace aimass::bindings {

namespace {

using namespace aimass::knn;

Tensor optional_tensor(const py::object& obj) { return obj.is_none() ? Tensor() : to_tensor(obj, nullptr); }

Filter make_filter(const py::object& allowed_ids, const py::object& id_mask) {
  Filter f;
  f.allowed_ids = optional_tensor(allowed_ids);
  f.id_mask = optional_tensor(id_mask);
  return f;
}

py::tuple state_tuple(const IndexState& s) {
  return py::make_tuple(s.type, s.d, metric_name(s.metric), dtype_name(s.dtype), s.ints, s.tensors);
}

IndexState make_state(const std::string& type, int64_t d, const std::string& metric, const py::object& dtype,
                      const std::map<std::string, int64_t>& ints, const py::dict& tensors) {
  IndexState s;
  s.type = type;
  s.d = d;
  s.metric = parse_metric(metric);
  s.dtype = to_dtype_arg(dtype);
  s.ints = ints;
  for (auto item : tensors) s.tensors[item.first.cast<std::string>()] = to_tensor(item.second, nullptr);
  return s;
}

}  // namespace

void bind_knn(py::module_& parent) {
  py::module_ m = parent.def_submodule("knn", "k-nearest-neighbour indexes (use aimass.knn)");
  auto none = py::none();
  py::class_<Index, py::smart_holder>(m, "Index", "A native k-NN index (see aimass.knn).")
      .def_property_readonly("d", &Index::d)
      .def_property_readonly("metric", [](const Index& i) { return metric_name(i.metric()); })
      .def_property_readonly("device", &Index::device)
      .def_property_readonly("dtype", &Index::dtype)
      .def_property_readonly("type_name", &Index::type_name)
      .def_property_readonly("ntotal", &Index::ntotal)
      .def_property_readonly("is_trained", &Index::is_trained)
      .def("train", [](Index& i, py::object x) {
        Tensor t = to_tensor(x, nullptr);
        without_gil([&] { i.train(t); });
      }, py::arg("x"))
      .def("add", [](Index& i, py::object x, py::object ids) {
        Tensor t = to_tensor(x, nullptr), id = optional_tensor(ids);
        without_gil([&] { i.add(t, id); });
      }, py::arg("x"), py::arg("ids") = none)
      .def("search", [](const Index& i, py::object q, int64_t k, py::object allowed_ids, py::object id_mask) {
        Tensor t = to_tensor(q, nullptr);
        Filter f = make_filter(allowed_ids, id_mask);
        KnnResult r = without_gil([&] { return i.search(t, k, f); });
        return py::make_tuple(r.distances, r.ids);
      }, py::arg("q"), py::arg("k"), py::arg("allowed_ids") = none, py::arg("id_mask") = none)
      .def("range_search", [](const Index& i, py::object q, double radius, py::object allowed_ids, py::object id_mask) {
        Tensor t = to_tensor(q, nullptr);
        Filter f = make_filter(allowed_ids, id_mask);
        RangeResult r = without_gil([&] { return i.range_search(t, radius, f); });
        return py::make_tuple(r.lims, r.distances, r.ids);
      }, py::arg("q"), py::arg("radius"), py::arg("allowed_ids") = none, py::arg("id_mask") = none)
      .def("remove", [](Index& i, py::object ids) { return i.remove(to_tensor(ids, nullptr)); }, py::arg("ids"))
      .def("reset", &Index::reset)
      .def("reconstruct", &Index::reconstruct, py::arg("id"))
      .def("to", [](Index& i, py::object device) { i.to(to_device_arg(device)); }, py::arg("device"))
      .def("state", [](const Index& i) { return state_tuple(i.state()); });

  py::class_<FlatIndex, Index, py::smart_holder>(m, "FlatIndex", "Exact search over every stored vector.")
      .def(py::init([](int64_t d, const std::string& metric, py::object device, py::object dtype) {
        return std::make_shared<FlatIndex>(d, parse_metric(metric), to_device_arg(device), to_dtype_arg(dtype));
      }), py::arg("d"), py::arg("metric") = "l2", py::arg("device") = none, py::arg("dtype") = "float32");

  m.def("index_from_state", [](const std::string& type, int64_t d, const std::string& metric, py::object dtype,
                               const std::map<std::string, int64_t>& ints, const py::dict& tensors, py::object device) {
    return std::shared_ptr<Index>(index_from_state(make_state(type, d, metric, dtype, ints, tensors), to_device_arg(device)));
  }, py::arg("type"), py::arg("d"), py::arg("metric"), py::arg("dtype"), py::arg("ints"), py::arg("tensors"),
     py::arg("device") = none);

  py::class_<IVFFlatIndex, Index, py::smart_holder>(m, "IVFFlatIndex", "Inverted-file search over k-means cells.")
      .def(py::init([](int64_t d, int64_t nlist, const std::string& metric, py::object device, py::object dtype,
                       int64_t niter, uint64_t seed) {
        return std::make_shared<IVFFlatIndex>(d, nlist, parse_metric(metric), to_device_arg(device),
                                              to_dtype_arg(dtype), niter, seed);
      }), py::arg("d"), py::arg("nlist"), py::arg("metric") = "l2", py::arg("device") = none,
         py::arg("dtype") = "float32", py::arg("niter") = 10, py::arg("seed") = 0)
      .def_property_readonly("nlist", &IVFFlatIndex::nlist)
      .def_property("nprobe", &IVFFlatIndex::nprobe, &IVFFlatIndex::set_nprobe)
      .def_property_readonly("centroids", &IVFFlatIndex::centroids)
      .def_property_readonly("list_sizes", &IVFFlatIndex::list_sizes);

  m.def("kmeans", [](py::object x, int64_t k, int64_t niter, uint64_t seed, const std::string& metric,
                     int64_t max_points_per_centroid, py::object init, py::object device) {
    Tensor t = to_tensor(x, nullptr);
    KMeansOptions opt;
    opt.k = k;
    opt.niter = niter;
    opt.seed = seed;
    opt.max_points_per_centroid = max_points_per_centroid;
    opt.init = optional_tensor(init);
    const Device dev = device.is_none() ? t.device() : to_device_arg(device);
    KMeansResult r = without_gil([&] { return kmeans(t, parse_metric(metric), dev, opt); });
    return py::make_tuple(r.centroids, r.assignment, r.inertia, r.n_iter);
  }, py::arg("x"), py::arg("k"), py::arg("niter") = 25, py::arg("seed") = 0, py::arg("metric") = "l2",
     py::arg("max_points_per_centroid") = 256, py::arg("init") = none, py::arg("device") = none);
}

}  // namespace aimass::bindings
