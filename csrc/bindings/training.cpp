// aimass._core.nn: the native training loop (fit / evaluate / predict), run with the GIL released.
#include "bindings/bindings.h"
#include "core/error.h"
#include "nn/training.h"

namespace aimass::bindings {

using namespace aimass::nn;

namespace {

// The hook seen by C++: calls the Python callable with the GIL held. Ctrl-C (a pending signal)
// or a False return stops the loop after the current step; a Python exception is kept and
// re-raised once the loop has stopped.
struct PythonHook {
  py::object fn;
  bool interrupted = false;
  std::exception_ptr error;

  BatchHook make(int64_t every) {
    BatchHook hook;
    hook.every = every;
    hook.fn = [this](int64_t batch, int64_t samples, double mean_loss) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        PyErr_Clear();
        interrupted = true;
        return false;
      }
      if (fn.is_none()) return true;
      try {
        return fn(batch, samples, mean_loss).cast<bool>();
      } catch (...) {
        error = std::current_exception();
        return false;
      }
    };
    return hook;
  }
};

std::vector<metrics::StreamingMetric*> metric_list(const py::list& metrics) {
  std::vector<metrics::StreamingMetric*> out;
  for (py::handle m : metrics) out.push_back(m.cast<metrics::StreamingMetric*>());
  return out;
}

py::dict logs_dict(const EpochLogs& logs, bool interrupted) {
  py::dict d;
  d["loss"] = logs.loss;
  for (const auto& [name, value] : logs.metrics) d[py::str(name)] = value;
  d["samples"] = logs.samples;
  d["batches"] = logs.batches;
  d["seconds"] = logs.seconds;
  d["stopped"] = logs.stopped;
  d["interrupted"] = interrupted;
  return d;
}

// `with _core.nn._mode(False):` ModeScope for the Python code inside (one thread's view of
// train / eval mode, so concurrent predicts do not flip each other's).
struct PyModeScope {
  bool training;
  std::unique_ptr<ModeScope> scope;
};

}  // namespace

void bind_training(py::module_& nn) {
  py::class_<PyModeScope>(nn, "_mode")
      .def(py::init([](bool training) { return PyModeScope{training, nullptr}; }), py::arg("training"))
      .def("__enter__", [](PyModeScope& s) { s.scope = std::make_unique<ModeScope>(s.training); })
      .def("__exit__", [](PyModeScope& s, const py::args&) { s.scope.reset(); });
  nn.def("_train_epoch", [](Module& model, const Loss& loss, optim::Optimizer& optimizer, const py::list& metrics,
                            data::BatchSource& batches, double clip_grad_norm, const py::object& hook, int64_t every) {
    auto ms = metric_list(metrics);
    PythonHook py_hook{hook};
    BatchHook h = py_hook.make(every);
    EpochLogs logs = without_gil([&] { return train_epoch(model, loss, optimizer, ms, batches, clip_grad_norm, h); });
    if (py_hook.error) std::rethrow_exception(py_hook.error);
    return logs_dict(logs, py_hook.interrupted);
  }, py::arg("model"), py::arg("loss"), py::arg("optimizer"), py::arg("metrics"), py::arg("batches"),
     py::arg("clip_grad_norm") = 0.0, py::arg("hook") = py::none(), py::arg("every") = 1);
  nn.def("_evaluate", [](Module& model, const Loss& loss, const py::list& metrics, data::BatchSource& batches,
                         const py::object& hook, int64_t every) {
    auto ms = metric_list(metrics);
    PythonHook py_hook{hook};
    BatchHook h = py_hook.make(every);
    EpochLogs logs = without_gil([&] { return evaluate(model, loss, ms, batches, h); });
    if (py_hook.error) std::rethrow_exception(py_hook.error);
    return logs_dict(logs, py_hook.interrupted);
  }, py::arg("model"), py::arg("loss"), py::arg("metrics"), py::arg("batches"), py::arg("hook") = py::none(),
     py::arg("every") = 1);
  nn.def("_predict", [](Module& model, const py::object& x, int64_t batch_size) {
    Tensor t = to_tensor(x, nullptr);
    return without_gil([&] { return predict(model, t, batch_size); });
  }, py::arg("model"), py::arg("x"), py::arg("batch_size") = 32);
}

}  // namespace aimass::bindings
