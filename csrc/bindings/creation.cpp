#include "autograd/leaf_rules.h"
#include "bindings/bindings.h"
#include "core/philox.h"
#include "ops/convert.h"
#include "ops/creation.h"

namespace aimass::bindings {

namespace {

DType dtype_or(const py::object& dtype, DType dflt) { return dtype.is_none() ? dflt : to_dtype_arg(dtype); }

// NumPy-style shape arguments: zeros(3), zeros((2, 3)), zeros([2, 3]).
Shape shape_of(const py::object& shape) { return to_shape_arg(shape); }

}  // namespace

void bind_creation(py::module_& m) {
  // am.tensor copies, always (as torch.tensor); from_numpy / asarray share memory.
  m.def("tensor", [](const py::object& data, const py::object& dtype, const py::object& device, bool requires_grad) {
    Tensor t = to_tensor(data, nullptr);
    Device dev = device.is_none() ? t.device() : to_device_arg(device);
    DType dt = dtype_or(dtype, t.dtype());
    Tensor out = to_device(to_dtype(t, dt), dev);
    if (out.storage() == t.storage()) out = clone(out);
    autograd::set_requires_grad(out, requires_grad, "tensor");
    return out;
  }, py::arg("data"), py::arg("dtype") = py::none(), py::arg("device") = py::none(), py::arg("requires_grad") = false);
  m.def("asarray", [](const py::object& data, const py::object& dtype, const py::object& device) {
    Tensor t = to_tensor(data, nullptr);
    return to_device(to_dtype(t, dtype_or(dtype, t.dtype())), device.is_none() ? t.device() : to_device_arg(device));
  }, py::arg("data"), py::arg("dtype") = py::none(), py::arg("device") = py::none());

  m.def("empty", [](const py::object& shape, const py::object& dtype, const py::object& device) {
    return Tensor::empty(shape_of(shape), dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("zeros", [](const py::object& shape, const py::object& dtype, const py::object& device) {
    return full(shape_of(shape), Scalar::from_int(0), dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("ones", [](const py::object& shape, const py::object& dtype, const py::object& device) {
    return full(shape_of(shape), Scalar::from_int(1), dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("full", [](const py::object& shape, const py::object& value, const py::object& dtype, const py::object& device) {
    Scalar v = to_scalar(value);
    return full(shape_of(shape), v, dtype_or(dtype, v.default_dtype()), to_device_arg(device));
  }, py::arg("shape"), py::arg("fill_value"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("arange", [](const py::object& a, const py::object& b, const py::object& step, const py::object& dtype,
                     const py::object& device) {
    Scalar start = b.is_none() ? Scalar::from_int(0) : to_scalar(a), stop = b.is_none() ? to_scalar(a) : to_scalar(b);
    Scalar s = to_scalar(step);
    bool floats = start.is_floating() || stop.is_floating() || s.is_floating();
    return arange(start, stop, s, dtype_or(dtype, floats ? DType::Float32 : DType::Int64), to_device_arg(device));
  }, py::arg("start"), py::arg("stop") = py::none(), py::arg("step") = 1, py::arg("dtype") = py::none(),
     py::arg("device") = py::none());
  m.def("linspace", [](double start, double stop, int64_t num, bool endpoint, const py::object& dtype, const py::object& device) {
    return linspace(start, stop, num, endpoint, dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("start"), py::arg("stop"), py::arg("num") = 50, py::arg("endpoint") = true, py::arg("dtype") = py::none(),
     py::arg("device") = py::none());
  m.def("rand", [](const py::object& shape, const py::object& dtype, const py::object& device) {
    return rand(shape_of(shape), dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("randn", [](const py::object& shape, const py::object& dtype, const py::object& device) {
    return randn(shape_of(shape), dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("uniform", [](double low, double high, const py::object& shape, const py::object& dtype, const py::object& device) {
    return uniform(shape_of(shape), low, high, dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("low"), py::arg("high"), py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("normal", [](double mean, double std, const py::object& shape, const py::object& dtype, const py::object& device) {
    return normal(shape_of(shape), mean, std, dtype_or(dtype, DType::Float32), to_device_arg(device));
  }, py::arg("mean"), py::arg("std"), py::arg("shape"), py::arg("dtype") = py::none(), py::arg("device") = py::none());
  m.def("randint", [](int64_t low, const py::object& high, const py::object& shape, const py::object& dtype,
                      const py::object& device) {
    int64_t lo = high.is_none() ? 0 : low, hi = high.is_none() ? low : high.cast<int64_t>();
    return randint(lo, hi, shape_of(shape), dtype_or(dtype, DType::Int64), to_device_arg(device));
  }, py::arg("low"), py::arg("high") = py::none(), py::arg("shape") = py::tuple(), py::arg("dtype") = py::none(),
     py::arg("device") = py::none());
  m.def("manual_seed", [](uint64_t seed) { manual_seed(seed); }, py::arg("seed"));
}

}  // namespace aimass::bindings
