// aimass._core.data: the data pipeline (batch sources, augmentation ops, image conversion).
#include "bindings/bindings.h"
#include "data/augment.h"
#include "data/batch_source.h"
#include "data/image.h"
#include "data/sampling.h"

namespace aimass::bindings {

void bind_data(py::module_& m) {
  using namespace aimass::data;
  py::module_ d = m.def_submodule("data", "the data pipeline (use aimass.data)");
  auto as_tensor = [](const py::object& x) { return to_tensor(x, nullptr); };

  py::class_<BatchSource, std::shared_ptr<BatchSource>>(d, "BatchSource")
      .def("start_epoch", &BatchSource::start_epoch, py::call_guard<py::gil_scoped_release>())
      .def("next", [](BatchSource& s, std::optional<uint64_t> epoch) -> py::object {
        Tensor x, y;
        bool more = without_gil([&] { return epoch ? s.next_in(*epoch, x, y) : s.next(x, y); });
        if (!more) return py::none();
        return py::make_tuple(x, y);
      }, py::arg("epoch") = py::none(), "the next batch (x, y), None after the last; epoch: that epoch's (RuntimeError once superseded)")
      .def_property_readonly("num_batches", &BatchSource::num_batches)
      .def_property_readonly("num_samples", &BatchSource::num_samples);

  d.def("make_array_loader",
        [as_tensor](const py::object& x, const py::object& y, int64_t batch_size, bool shuffle, bool drop_last,
                    int64_t prefetch, bool random_flip, int64_t random_crop, double mixup_alpha, double label_smoothing,
                    int64_t num_classes) {
          LoaderOptions o;
          o.batch_size = batch_size;
          o.shuffle = shuffle;
          o.drop_last = drop_last;
          o.prefetch = prefetch;
          o.random_flip = random_flip;
          o.random_crop = random_crop;
          o.mixup_alpha = mixup_alpha;
          o.label_smoothing = label_smoothing;
          o.num_classes = num_classes;
          Tensor tx = as_tensor(x), ty = as_tensor(y);
          return without_gil([&] { return make_array_loader(tx, ty, o); });
        },
        py::arg("x"), py::arg("y"), py::arg("batch_size") = 32, py::arg("shuffle") = true, py::arg("drop_last") = false,
        py::arg("prefetch") = 2, py::arg("random_flip") = false, py::arg("random_crop") = 0,
        py::arg("mixup_alpha") = 0.0, py::arg("label_smoothing") = 0.0, py::arg("num_classes") = 0);

  d.def("crop_flip", [as_tensor](const py::object& x, const py::object& params, int64_t pad) {
    Tensor tx = as_tensor(x), tp = as_tensor(params);
    return without_gil([&] { return crop_flip(tx, tp, pad); });
  }, py::arg("x"), py::arg("params"), py::arg("pad"));
  d.def("mixup", [as_tensor](const py::object& x, const py::object& partner, const py::object& lam) {
    Tensor tx = as_tensor(x), tp = as_tensor(partner), tl = as_tensor(lam);
    return without_gil([&] { return mixup(tx, tp, tl); });
  }, py::arg("x"), py::arg("partner"), py::arg("lam"));
  d.def("images_to_tensor", [as_tensor](const py::object& images, const std::vector<double>& mean,
                                        const std::vector<double>& std) {
    Tensor t = as_tensor(images);
    return without_gil([&] { return images_to_tensor(t, mean, std); });
  }, py::arg("images"), py::arg("mean"), py::arg("std"));
  d.def("random_permutation", [](int64_t n, std::optional<uint64_t> seed) {
    std::vector<int64_t> p = seed ? random_permutation(n, *seed, 0) : random_permutation(n);
    return py::array_t<int64_t>(py::ssize_t(p.size()), p.data());
  }, py::arg("n"), py::arg("seed") = py::none(),
     "a permutation of [0, n): from the seed alone, or from the global generator (am.manual_seed)");
}

}  // namespace aimass::bindings
