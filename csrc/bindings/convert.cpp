// Python <-> C++ value conversions shared by the binding files.
#include "bindings/bindings.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/index.h"

namespace aimass::bindings {

namespace {

py::object numpy_dtype(DType t) {
  if (t == DType::BFloat16) {
    try {
      return py::module_::import("ml_dtypes").attr("bfloat16");
    } catch (const py::error_already_set&) {
      throw TypeError("numpy(): NumPy has no bfloat16; install ml_dtypes, or convert with .to(aimass.float32)");
    }
  }
  return py::dtype(dtype_name(t));
}

DType from_numpy_dtype(const py::dtype& dt) {
  std::string name = py::str(dt.attr("name"));
  char kind = dt.kind();
  if (name == "bool") return DType::Bool;
  if (name == "bfloat16") return DType::BFloat16;
  if ((kind == 'i' || kind == 'u' || kind == 'f') && name != "int16" && name != "uint16" && name != "uint32" &&
      name != "uint64" && name != "longdouble" && name != "float128")
    return dtype_from_name(name);
  throw TypeError("aimass has no dtype for NumPy's " + name +
                  "; supported: bool, uint8, int8, int32, int64, float16, bfloat16, float32, float64");
}

}  // namespace

DType to_dtype_arg(const py::object& dtype) {
  if (py::isinstance<DType>(dtype)) return dtype.cast<DType>();
  if (py::isinstance<py::str>(dtype)) return dtype_from_name(dtype.cast<std::string>());
  try {
    return from_numpy_dtype(py::dtype::from_args(dtype));
  } catch (const py::error_already_set&) {
    throw TypeError("not a dtype: " + std::string(py::repr(dtype)));
  }
}

Device to_device_arg(const py::object& device) {
  if (device.is_none()) return Device();
  if (py::isinstance<Device>(device)) return device.cast<Device>();
  if (py::isinstance<py::str>(device)) return Device::parse(device.cast<std::string>());
  throw TypeError("not a device: " + std::string(py::repr(device)) +
                  "; expected an aimass.Device or a name: 'cpu', 'cuda', 'cuda:N', 'gpu' or 'gpu:N'");
}

std::optional<int64_t> to_int64(const py::handle& v) {
  py::int_ i(py::reinterpret_borrow<py::object>(v));
  int overflow = 0;
  long long n = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (overflow) return std::nullopt;
  if (n == -1 && PyErr_Occurred()) throw py::error_already_set();
  return int64_t(n);
}

Shape to_shape_arg(const py::object& shape) {
  auto dim = [&](const py::handle& d) {
    std::optional<int64_t> n = to_int64(d);
    if (!n) throw ValueError("shape " + std::string(py::repr(shape)) + " has a dimension beyond 2**63");
    return *n;
  };
  if (py::isinstance<py::int_>(shape)) return {dim(shape)};
  Shape out;
  try {
    for (py::handle d : shape) out.push_back(dim(d));
  } catch (const py::error_already_set&) {
    throw TypeError("shape must be an int or a sequence of ints, got " + std::string(py::repr(shape)));
  } catch (const py::cast_error&) {
    throw TypeError("shape must be an int or a sequence of ints, got " + std::string(py::repr(shape)));
  }
  return out;
}

bool is_python_scalar(const py::handle& obj) {
  return PyBool_Check(obj.ptr()) || PyLong_Check(obj.ptr()) || PyFloat_Check(obj.ptr());
}

Scalar to_scalar(const py::handle& obj) {
  if (PyBool_Check(obj.ptr())) return Scalar::from_bool(obj.ptr() == Py_True);
  if (PyLong_Check(obj.ptr())) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj.ptr(), &overflow);
    AM_CHECK(!overflow, ValueError, "integer ", std::string(py::repr(obj)), " does not fit in int64");
    return Scalar::from_int(v);
  }
  if (PyFloat_Check(obj.ptr())) return Scalar::from_float(PyFloat_AsDouble(obj.ptr()));
  throw TypeError("expected a number, got " + std::string(py::repr(py::type::of(obj))));
}

py::object scalar_to_python(const Scalar& s) {
  if (s.kind == Scalar::Kind::Bool) return py::bool_(s.i != 0);
  if (s.kind == Scalar::Kind::Int) return py::int_(s.i);
  return py::float_(s.f);
}

Tensor from_numpy(py::array array) {
  DType dtype = from_numpy_dtype(array.dtype());
  int64_t item = int64_t(itemsize(dtype));
  bool aligned_strides = true;
  Shape shape(array.ndim()), strides(array.ndim());
  for (py::ssize_t d = 0; d < array.ndim(); ++d) {
    shape[d] = array.shape(d);
    aligned_strides &= array.strides(d) % item == 0;
    strides[d] = array.strides(d) / item;
  }
  if (!aligned_strides || !array.writeable()) {
    // A layout we cannot view (byte strides that are not a multiple of the item size), or
    // read-only memory a tensor must not write to: copy.
    array = py::array(py::module_::import("numpy").attr("array")(array, py::arg("copy") = true, py::arg("order") = "C"));
    return from_numpy(array);
  }
  auto* keep = new py::object(array);  // released with the GIL held when the last view goes
  return from_external(const_cast<void*>(array.data()), shape, strides, dtype, Device(), [keep](void*) {
    py::gil_scoped_acquire gil;
    delete keep;
  });
}

Tensor to_tensor(const py::handle& obj, const Tensor* like) {
  if (py::isinstance<Tensor>(obj)) return obj.cast<Tensor>();
  Device device = like ? like->device() : Device();
  if (py::isinstance<py::array>(obj)) return to_device(from_numpy(py::reinterpret_borrow<py::array>(obj)), device);
  if (py::hasattr(obj, "__dlpack__") && !py::isinstance<py::list>(obj) && !py::isinstance<py::tuple>(obj)) {
    return py::module_::import("aimass._core").attr("from_dlpack")(obj).cast<Tensor>();
  }
  // Python data (numbers, nested lists): NumPy parses it; Python floats become float32, the
  // default floating dtype of deep-learning code (PyTorch does the same).
  py::array array;
  try {
    array = py::array(py::module_::import("numpy").attr("asarray")(obj));
  } catch (const py::error_already_set& e) {
    // Ragged or too deeply nested lists are bad values (ValueError); other objects, bad types.
    std::string what = "cannot make a tensor from " + std::string(py::repr(py::type::of(obj))) + ": " + e.what();
    if (e.matches(PyExc_ValueError)) throw ValueError(what);
    throw TypeError(what);
  }
  Tensor t = from_numpy(array);
  if (t.dtype() == DType::Float64) t = to_dtype(t, DType::Float32);
  return to_device(t, device);
}

py::object to_numpy(const Tensor& x) {
  AM_CHECK(x.device().is_cpu(), TypeError, "numpy(): ", x.describe(), " is not on the CPU; call .cpu() first");
  py::object dtype = numpy_dtype(x.dtype());
  std::vector<py::ssize_t> shape(x.shape().begin(), x.shape().end()), strides;
  for (int64_t s : x.strides()) strides.push_back(s * int64_t(x.itemsize()));
  // The array's base owns a handle on the tensor, so the memory outlives either object.
  auto* keep = new Tensor(x);
  py::capsule base(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  return py::array(py::dtype::from_args(dtype), shape, strides, x.data_ptr(), base);
}

}  // namespace aimass::bindings
