// aimass._core.serve: the dynamic batcher behind aimass.serve (use that). Completions reach
// Python through the callback given to submit, called from a batcher thread with the GIL
// taken: done(outputs: list[np.ndarray] | None, failure: str, error: str, queue_us, compute_us,
// batch_rows), failure one of "", "bad_input", "timeout", "stopped", "internal".
#include "bindings/bindings.h"
#include "serve/batcher.h"
#include "serve/runner.h"

namespace aimass::bindings {

namespace {

using namespace aimass::serve;

const char* failure_name(FailureKind k) {
  switch (k) {
    case FailureKind::None: return "";
    case FailureKind::BadInput: return "bad_input";
    case FailureKind::Timeout: return "timeout";
    case FailureKind::Stopped: return "stopped";
    case FailureKind::Internal: return "internal";
  }
  return "internal";
}

const char* status_name(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::Queued: return "queued";
    case SubmitStatus::QueueFull: return "queue_full";
    case SubmitStatus::Stopped: return "stopped";
  }
  return "stopped";
}

// A Python callable that a batcher thread may call and drop: both take the GIL.
struct PythonCallback {
  py::object fn;
  explicit PythonCallback(py::object f) : fn(std::move(f)) {}
  ~PythonCallback() {
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
};

Done python_done(py::object fn) {
  auto callback = std::make_shared<PythonCallback>(std::move(fn));
  return [callback](Completion&& c) {
    py::gil_scoped_acquire gil;
    try {
      py::object outputs = py::none();
      if (c.failure == FailureKind::None) {
        py::list list;
        for (const Tensor& y : c.outputs) list.append(to_numpy(y));
        outputs = list;
      }
      callback->fn(outputs, failure_name(c.failure), c.error, c.queue_us, c.compute_us, c.batch_rows);
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("aimass.serve batcher callback");
    }
    c.outputs.clear();
  };
}

// Deletes a batcher without the GIL: its workers may be waiting for it.
std::shared_ptr<DynamicBatcher> make_batcher(Runner runner, const BatcherOptions& options) {
  return std::shared_ptr<DynamicBatcher>(new DynamicBatcher(std::move(runner), options), [](DynamicBatcher* b) {
    if (PyGILState_Check()) {
      py::gil_scoped_release release;
      delete b;
    } else {
      delete b;
    }
  });
}

BatcherOptions make_options(int64_t max_batch_size, std::vector<int64_t> preferred, int64_t delay_us,
                            int64_t max_queue_size, int64_t timeout_us, int64_t instance_count) {
  BatcherOptions o;
  o.max_batch_size = max_batch_size;
  o.preferred_batch_sizes = std::move(preferred);
  o.max_queue_delay_us = delay_us;
  o.max_queue_size = max_queue_size;
  o.default_timeout_us = timeout_us;
  o.instance_count = instance_count;
  return o;
}

py::dict stats_dict(const BatcherStats& s) {
  py::dict d;
  d["success"] = s.success;
  d["failure"] = s.failure;
  d["inference_count"] = s.inference_count;
  d["execution_count"] = s.execution_count;
  d["pending"] = s.pending;
  d["queue_us"] = s.queue_us;
  d["compute_us"] = s.compute_us;
  d["batch_sizes"] = s.batch_sizes;
  d["batch_compute_us"] = s.batch_compute_us;
  return d;
}

}  // namespace

void bind_serve(py::module_& parent) {
  py::module_ m = parent.def_submodule("serve", "the dynamic batcher (use aimass.serve)");
  py::class_<DynamicBatcher, std::shared_ptr<DynamicBatcher>>(m, "DynamicBatcher",
                                                              "Triton's dynamic batcher for one model version.")
      .def_static("for_model", [](std::shared_ptr<nn::Module> model, int64_t max_batch_size, std::vector<int64_t> preferred,
                                  int64_t delay_us, int64_t max_queue_size, int64_t timeout_us, int64_t instance_count) {
        return make_batcher(module_runner(std::move(model)),
                            make_options(max_batch_size, std::move(preferred), delay_us, max_queue_size, timeout_us, instance_count));
      }, py::arg("model"), py::arg("max_batch_size") = 32, py::arg("preferred_batch_sizes") = std::vector<int64_t>{},
         py::arg("max_queue_delay_us") = 100, py::arg("max_queue_size") = 0, py::arg("timeout_us") = 0,
         py::arg("instance_count") = 1)
      .def_static("for_index", [](std::shared_ptr<knn::Index> index, std::shared_ptr<nn::Module> embedder,
                                  int64_t max_batch_size, std::vector<int64_t> preferred, int64_t delay_us,
                                  int64_t max_queue_size, int64_t timeout_us, int64_t instance_count) {
        return make_batcher(knn_runner(std::move(index), std::move(embedder)),
                            make_options(max_batch_size, std::move(preferred), delay_us, max_queue_size, timeout_us, instance_count));
      }, py::arg("index"), py::arg("embedder") = py::none(), py::arg("max_batch_size") = 32,
         py::arg("preferred_batch_sizes") = std::vector<int64_t>{}, py::arg("max_queue_delay_us") = 100,
         py::arg("max_queue_size") = 0, py::arg("timeout_us") = 0, py::arg("instance_count") = 1)
      .def("submit", [](DynamicBatcher& b, const py::list& inputs, py::object done, const std::string& key, int64_t timeout_us) {
        Request r;
        for (auto x : inputs) r.inputs.push_back(to_tensor(x, nullptr));
        r.key = key;
        r.timeout_us = timeout_us;
        r.done = python_done(std::move(done));
        return status_name(b.submit(std::move(r)));
      }, py::arg("inputs"), py::arg("done"), py::arg("key") = "", py::arg("timeout_us") = -1)
      .def("stop", [](DynamicBatcher& b, bool drain) { without_gil([&] { b.stop(drain); }); }, py::arg("drain") = true)
      .def_property_readonly("stopped", &DynamicBatcher::stopped)
      .def_property_readonly("max_batch_size", [](const DynamicBatcher& b) { return b.options().max_batch_size; })
      .def("stats", [](const DynamicBatcher& b) { return stats_dict(b.stats()); });
  m.def("knn_key", &knn_key, py::arg("k"), py::arg("allowed_ids") = std::vector<int64_t>{}, py::arg("filtered") = false,
        "The batch key of a k-NN request (requests batch together only with the same key).");
}

}  // namespace aimass::bindings
