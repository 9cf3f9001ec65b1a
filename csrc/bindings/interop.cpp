// NumPy (buffer protocol, __array__, from_numpy / numpy()) and DLPack, both ways.
#include "bindings/bindings.h"
#include "core/device_api.h"
#include "core/dlpack.h"
#include "core/error.h"
#include "ops/convert.h"

namespace aimass::bindings {

namespace {

constexpr const char* kLegacyName = "dltensor";
constexpr const char* kVersionedName = "dltensor_versioned";

// A capsule no consumer took still owns its tensor.
void delete_unconsumed_legacy(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, kLegacyName)) {
    auto* m = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(capsule, kLegacyName));
    if (m && m->deleter) m->deleter(m);
  }
}
void delete_unconsumed_versioned(PyObject* capsule) {
  if (PyCapsule_IsValid(capsule, kVersionedName)) {
    auto* m = static_cast<dlpack::DLManagedTensorVersioned*>(PyCapsule_GetPointer(capsule, kVersionedName));
    if (m && m->deleter) m->deleter(m);
  }
}

py::object export_dlpack(const Tensor& x, const py::object& stream, const py::object& max_version,
                         const py::object& dl_device, const py::object& copy) {
  Tensor t = x;
  if (!dl_device.is_none()) {
    auto req = dl_device.cast<std::pair<int, int>>();
    dlpack::DLDevice own = dlpack::dlpack_device(x);
    if (req.first != own.device_type || req.second != own.device_id) {
      if (!copy.is_none() && !copy.cast<bool>()) throw py::buffer_error("__dlpack__: a copy to another device is needed but copy=False");
      if (req.first != dlpack::kDLCPU) throw py::buffer_error("__dlpack__: can only copy to the CPU");
      t = to_device(x, Device());
    }
  }
  if (!copy.is_none() && copy.cast<bool>() && t.is_same(x)) t = clone(x);
  // Our kernels run on the legacy default stream; a consumer on another stream must see them done.
  if (t.device().is_cuda() && !stream.is_none() && stream.cast<int64_t>() != 1) cuda_api().synchronize(t.device().index);
  bool versioned = !max_version.is_none() && max_version.cast<std::pair<int, int>>().first >= 1;
  if (versioned)
    return py::reinterpret_steal<py::object>(PyCapsule_New(dlpack::to_dlpack_versioned(t), kVersionedName, delete_unconsumed_versioned));
  return py::reinterpret_steal<py::object>(PyCapsule_New(dlpack::to_dlpack(t), kLegacyName, delete_unconsumed_legacy));
}

Tensor consume_capsule(const py::object& capsule) {
  PyObject* c = capsule.ptr();
  if (PyCapsule_IsValid(c, kVersionedName)) {
    auto* m = static_cast<dlpack::DLManagedTensorVersioned*>(PyCapsule_GetPointer(c, kVersionedName));
    Tensor t = dlpack::from_dlpack(m);
    PyCapsule_SetName(c, "used_dltensor_versioned");
    return t;
  }
  if (PyCapsule_IsValid(c, kLegacyName)) {
    auto* m = static_cast<dlpack::DLManagedTensor*>(PyCapsule_GetPointer(c, kLegacyName));
    Tensor t = dlpack::from_dlpack(m);
    PyCapsule_SetName(c, "used_dltensor");
    return t;
  }
  throw TypeError("from_dlpack: expected an object with __dlpack__ or an unused DLPack capsule");
}

Tensor import_dlpack(const py::object& obj) {
  if (!py::hasattr(obj, "__dlpack__")) return consume_capsule(obj);
  py::object device = obj.attr("__dlpack_device__")();
  bool cuda = device.cast<std::pair<int, int>>().first == dlpack::kDLCUDA;
  py::object stream = cuda ? py::object(py::int_(1)) : py::none();
  py::object capsule;
  try {
    capsule = obj.attr("__dlpack__")(py::arg("stream") = stream, py::arg("max_version") = py::make_tuple(1, 0));
  } catch (const py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    capsule = obj.attr("__dlpack__")(py::arg("stream") = stream);  // a producer older than DLPack 1.0
  }
  return consume_capsule(capsule);
}

std::string buffer_format(DType t) {
  switch (t) {
    case DType::Bool: return "?";
    case DType::UInt8: return "B";
    case DType::Int8: return "b";
    case DType::Int32: return py::format_descriptor<int32_t>::format();
    case DType::Int64: return py::format_descriptor<int64_t>::format();
    case DType::Float16: return "e";
    case DType::Float32: return "f";
    case DType::Float64: return "d";
    case DType::BFloat16: break;
  }
  throw py::buffer_error("bfloat16 has no buffer-protocol format; use .numpy() with ml_dtypes, or .to(aimass.float32)");
}

}  // namespace

void bind_interop(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  cls.def_buffer([](const Tensor& x) {
    if (!x.device().is_cpu()) throw py::buffer_error("buffer protocol: " + x.describe() + " is not on the CPU; call .cpu() first");
    std::vector<py::ssize_t> shape(x.shape().begin(), x.shape().end()), strides;
    for (int64_t s : x.strides()) strides.push_back(s * int64_t(x.itemsize()));
    return py::buffer_info(x.data_ptr(), py::ssize_t(x.itemsize()), buffer_format(x.dtype()), x.dim(), shape, strides);
  });
  cls.def("numpy", &to_numpy, "A NumPy array sharing this CPU tensor's memory.")
      .def("__dlpack__", &export_dlpack, py::kw_only(), py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
           py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const Tensor& x) {
        dlpack::DLDevice d = dlpack::dlpack_device(x);
        return py::make_tuple(d.device_type, d.device_id);
      });
  m.def("from_numpy", [](py::array a) { return from_numpy(std::move(a)); }, py::arg("array"),
        "A tensor sharing the array's memory (copied only when read-only or misaligned).");
  m.def("from_dlpack", &import_dlpack, py::arg("x"), "A tensor sharing the memory of any DLPack producer.");
}

}  // namespace aimass::bindings
