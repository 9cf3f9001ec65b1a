// aimass._core.metrics: the one-shot metrics (aimass.metrics wraps them with scikit-learn's
// argument handling) and the streaming metrics of the training loop.
#include "bindings/bindings.h"
#include "metrics/classification.h"
#include "metrics/ranking.h"
#include "metrics/regression.h"
#include "metrics/streaming.h"

namespace aimass::bindings {
namespace {

// None -> an undefined Tensor (the C++ API's "not given").
Tensor optional_tensor(const py::object& obj) { return obj.is_none() ? Tensor() : to_tensor(obj, nullptr); }
Tensor tensor_arg(const py::object& obj) { return to_tensor(obj, nullptr); }
// A float64 NumPy array (one copy) rather than a list of Python floats.
py::array_t<double> array_of(const std::vector<double>& v) { return py::array_t<double>(py::ssize_t(v.size()), v.data()); }

}  // namespace

void bind_metrics(py::module_& m) {
  namespace mt = aimass::metrics;
  py::module_ s = m.def_submodule("metrics", "native metrics (use aimass.metrics)");
  auto none = py::none();

  s.def("accuracy_score", [](py::object t, py::object p, bool normalize, py::object w) {
    return mt::accuracy_score(tensor_arg(t), tensor_arg(p), normalize, optional_tensor(w));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("normalize") = true, py::arg("sample_weight") = none);
  s.def("top_k_accuracy_score", [](py::object t, py::object sc, int64_t k, bool normalize, py::object w) {
    return mt::top_k_accuracy_score(tensor_arg(t), tensor_arg(sc), k, normalize, optional_tensor(w));
  }, py::arg("y_true"), py::arg("y_score"), py::arg("k"), py::arg("normalize") = true, py::arg("sample_weight") = none);
  s.def("confusion_matrix", [](py::object t, py::object p, py::object labels, py::object w, std::string normalize) {
    return to_numpy(mt::confusion_matrix(tensor_arg(t), tensor_arg(p), tensor_arg(labels), optional_tensor(w), normalize));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("labels"), py::arg("sample_weight") = none,
     py::arg("normalize") = "");
  s.def("precision_recall_fscore_support",
        [](py::object t, py::object p, py::object labels, py::object w, double beta, std::string average,
           double zero_division) {
    auto r = mt::precision_recall_fscore_support(tensor_arg(t), tensor_arg(p), tensor_arg(labels), optional_tensor(w),
                                                 beta, average, zero_division);
    return py::make_tuple(array_of(r.precision), array_of(r.recall), array_of(r.fscore), array_of(r.support),
                          py::make_tuple(r.precision_ill_defined, r.recall_ill_defined, r.fscore_ill_defined));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("labels"), py::arg("sample_weight"), py::arg("beta"),
     py::arg("average"), py::arg("zero_division"));
  s.def("log_loss", [](py::object t, py::object p, double eps, bool normalize, py::object w) {
    return mt::log_loss(tensor_arg(t), tensor_arg(p), eps, normalize, optional_tensor(w));
  }, py::arg("y_true"), py::arg("y_proba"), py::arg("eps"), py::arg("normalize") = true, py::arg("sample_weight") = none);

  s.def("roc_curve", [](py::object t, py::object sc, py::object w, bool drop) {
    auto r = mt::roc_curve(tensor_arg(t), tensor_arg(sc), optional_tensor(w), drop);
    return py::make_tuple(array_of(r.fpr), array_of(r.tpr), array_of(r.thresholds));
  }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = none, py::arg("drop_intermediate") = true);
  s.def("precision_recall_curve", [](py::object t, py::object sc, py::object w, bool drop) {
    auto r = mt::precision_recall_curve(tensor_arg(t), tensor_arg(sc), optional_tensor(w), drop);
    return py::make_tuple(array_of(r.precision), array_of(r.recall), array_of(r.thresholds));
  }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = none, py::arg("drop_intermediate") = false);
  s.def("roc_auc_binary", [](py::object t, py::object sc, py::object w) {
    return mt::roc_auc_binary(tensor_arg(t), tensor_arg(sc), optional_tensor(w));
  }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = none);
  s.def("average_precision_binary", [](py::object t, py::object sc, py::object w) {
    return mt::average_precision_binary(tensor_arg(t), tensor_arg(sc), optional_tensor(w));
  }, py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight") = none);
  s.def("one_vs_rest_score", [](std::string metric, py::object t, py::object sc, py::object w, std::string average) {
    Tensor tt = tensor_arg(t), ss = tensor_arg(sc), ww = optional_tensor(w);
    return array_of(without_gil([&] { return mt::one_vs_rest_score(metric, tt, ss, ww, average); }));
  }, py::arg("metric"), py::arg("y_true"), py::arg("y_score"), py::arg("sample_weight"), py::arg("average"));
  s.def("one_vs_one_roc_auc", [](py::object t, py::object sc, std::string average) {
    Tensor tt = tensor_arg(t), ss = tensor_arg(sc);
    return without_gil([&] { return mt::one_vs_one_roc_auc(tt, ss, average); });
  }, py::arg("y_true"), py::arg("y_score"), py::arg("average"));

  s.def("mean_squared_error", [](py::object t, py::object p, py::object w, std::string mo, py::object ow) {
    return array_of(mt::mean_squared_error(tensor_arg(t), tensor_arg(p), optional_tensor(w), mo, optional_tensor(ow)));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = none, py::arg("multioutput") = "uniform_average",
     py::arg("output_weights") = none);
  s.def("mean_absolute_error", [](py::object t, py::object p, py::object w, std::string mo, py::object ow) {
    return array_of(mt::mean_absolute_error(tensor_arg(t), tensor_arg(p), optional_tensor(w), mo, optional_tensor(ow)));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = none, py::arg("multioutput") = "uniform_average",
     py::arg("output_weights") = none);
  s.def("r2_score", [](py::object t, py::object p, py::object w, std::string mo, py::object ow, bool force_finite) {
    return array_of(mt::r2_score(tensor_arg(t), tensor_arg(p), optional_tensor(w), mo, optional_tensor(ow), force_finite));
  }, py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = none, py::arg("multioutput") = "uniform_average",
     py::arg("output_weights") = none, py::arg("force_finite") = true);

  py::class_<mt::StreamingMetric>(s, "Streaming", "A metric accumulated over batches: update(y_pred, y_true), result(), reset()")
      .def(py::init([](const std::string& name) { return mt::make_streaming_metric(name); }), py::arg("name"))
      .def("update", [](mt::StreamingMetric& self, py::object p, py::object t) {
        Tensor pp = tensor_arg(p), tt = tensor_arg(t);
        without_gil([&] { self.update(pp, tt); return 0; });
      }, py::arg("y_pred"), py::arg("y_true"))
      .def("result", &mt::StreamingMetric::result)
      .def("reset", &mt::StreamingMetric::reset)
      .def_property_readonly("name", &mt::StreamingMetric::name)
      .def("__repr__", [](const mt::StreamingMetric& self) { return "Streaming('" + self.name() + "')"; });
}

}  // namespace aimass::bindings
