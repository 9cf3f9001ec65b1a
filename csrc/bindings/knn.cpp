// aimass._core.knn: the k-nearest-neighbour indexes (use aimass.knn, which adds NumPy in and
// out, filters and save / load). Every call that takes the index's lock releases the GIL
// first, so searches from many Python threads run in parallel and a thread waiting for a
// writer (add, reset, ...) never blocks the others.
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
      .def_property_readonly("device", [](const Index& i) { return without_gil([&] { return i.device(); }); })
      .def_property_readonly("dtype", &Index::dtype)
      .def_property_readonly("type_name", &Index::type_name)
      .def_property_readonly("ntotal", [](const Index& i) { return without_gil([&] { return i.ntotal(); }); })
      .def_property_readonly("is_trained", [](const Index& i) { return without_gil([&] { return i.is_trained(); }); })
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
      .def("remove", [](Index& i, py::object ids) {
        Tensor t = to_tensor(ids, nullptr);
        return without_gil([&] { return i.remove(t); });
      }, py::arg("ids"))
      .def("reset", [](Index& i) { without_gil([&] { i.reset(); }); })
      .def("reconstruct", [](const Index& i, int64_t id) { return without_gil([&] { return i.reconstruct(id); }); },
           py::arg("id"))
      .def("to", [](Index& i, py::object device) {
        Device d = to_device_arg(device);
        without_gil([&] { i.to(d); });
      }, py::arg("device"))
      .def("state", [](const Index& i) { return state_tuple(without_gil([&] { return i.state(); })); });

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
      .def_property("nprobe", [](const IVFFlatIndex& i) { return without_gil([&] { return i.nprobe(); }); },
                    [](IVFFlatIndex& i, int64_t nprobe) { without_gil([&] { i.set_nprobe(nprobe); }); })
      .def_property_readonly("centroids", [](const IVFFlatIndex& i) { return without_gil([&] { return i.centroids(); }); })
      .def_property_readonly("list_sizes", [](const IVFFlatIndex& i) { return without_gil([&] { return i.list_sizes(); }); });

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
