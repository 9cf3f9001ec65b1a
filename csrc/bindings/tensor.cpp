#include "bindings/bindings.h"
#include "autograd/functions.h"
#include "autograd/leaf_rules.h"
#include "bindings/ops_api.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/weak_scalar.h"

namespace aimass::bindings {

namespace ag = aimass::autograd;

std::optional<std::vector<int64_t>> to_axes(const py::object& axis) {
  if (axis.is_none()) return std::nullopt;
  return to_shape_arg(axis);
}

Tensor reduce_py(ReduceOp op, const Tensor& x, const py::object& axis, bool keepdims, int64_t ddof) {
  auto axes = to_axes(axis);
  return without_gil([&] { return ag::reduce(op, x, axes, keepdims, ddof); });
}

py::object binary_py(BinaryOp op, const Tensor& a, const py::object& b, bool reflected) {
  if (is_python_scalar(b)) {
    Scalar s = to_scalar(b);
    return py::cast(without_gil([&] { return reflected ? ag::binary(op, s, a) : ag::binary(op, a, s); }));
  }
  if (!py::isinstance<Tensor>(b) && !py::isinstance<py::array>(b) && !py::isinstance<py::list>(b) &&
      !py::isinstance<py::tuple>(b) && !py::hasattr(b, "__array__"))
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  Tensor t = to_tensor(b, &a);
  return py::cast(without_gil([&] { return reflected ? ag::binary(op, t, a) : ag::binary(op, a, t); }));
}

// x.reshape(2, 3) and x.reshape((2, 3)) alike: the one argument, or all of them.
py::object single_or_all(const py::args& args) {
  return args.size() == 1 ? py::reinterpret_borrow<py::object>(args[0]) : py::object(args);
}

std::vector<TensorIndex> to_index(const py::handle& obj) {
  std::vector<TensorIndex> out;
  auto one = [&](const py::handle& item) {
    if (item.is_none()) {
      out.push_back(TensorIndex::none());
    } else if (item.ptr() == Py_Ellipsis) {
      out.push_back(TensorIndex::ellipsis());
    } else if (PySlice_Check(item.ptr())) {
      // Bounds beyond int64 are clamped, as Python clamps them for a list.
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(item.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      auto field = [&](const char* name, Py_ssize_t v) -> std::optional<int64_t> {
        if (item.attr(name).is_none()) return std::nullopt;
        return int64_t(v);
      };
      out.push_back(TensorIndex::slice(field("start", start), field("stop", stop), field("step", step)));
    } else if (PyBool_Check(item.ptr())) {
      throw IndexError("index: a Python bool is not a valid index; use a boolean tensor or array");
    } else if (py::isinstance<Tensor>(item)) {
      out.push_back(TensorIndex::of(item.cast<Tensor>()));
    } else if (py::isinstance<py::array>(item) || py::isinstance<py::list>(item)) {
      Tensor t = from_numpy(py::array(py::module_::import("numpy").attr("asarray")(item)));
      if (t.numel() == 0 && t.dtype() == DType::Float64) t = to_dtype(t, DType::Int64);  // x[[]]
      out.push_back(TensorIndex::of(t));
    } else if (py::hasattr(item, "__index__")) {
      std::optional<int64_t> i = to_int64(item);
      if (!i) throw IndexError("index " + std::string(py::str(item)) + " is out of bounds (beyond 2**63)");
      out.push_back(TensorIndex::integer(*i));
    } else {
      throw IndexError("index: only integers, slices, None, Ellipsis and integer or boolean tensors/arrays are "
                       "valid indices, got " + std::string(py::str(py::type::of(item).attr("__name__"))));
    }
  };
  if (py::isinstance<py::tuple>(obj)) {
    for (py::handle item : obj) one(item);
  } else {
    one(obj);
  }
  return out;
}

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "DType")
      .value("bool", DType::Bool)
      .value("uint8", DType::UInt8)
      .value("int8", DType::Int8)
      .value("int32", DType::Int32)
      .value("int64", DType::Int64)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .def_property_readonly("itemsize", [](DType t) { return itemsize(t); })
      .def_property_readonly("is_floating_point", [](DType t) { return is_floating(t); });
  m.def("promote_types", [](const py::object& a, const py::object& b) {
    return promote_types(to_dtype_arg(a), to_dtype_arg(b));
  });

  py::class_<Device>(m, "Device")
      .def(py::init([](const std::string& spec) { return Device::parse(spec); }), py::arg("spec"))
      .def_property_readonly("type", [](const Device& d) { return d.is_cpu() ? "cpu" : "cuda"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        return d.is_cpu() ? py::none() : py::object(py::int_(d.index));
      })
      .def("__eq__", [](const Device& a, const py::object& b) {
        try { return a == to_device_arg(b); } catch (const Error&) { return false; }
      })
      .def("__hash__", [](const Device& d) { return py::hash(py::str(d.str())); })
      .def("__str__", &Device::str)
      .def("__repr__", [](const Device& d) { return "device('" + d.str() + "')"; });
  m.def("_is_device_name", &Device::names_a_device, py::arg("spec"),
        "Whether x.to(spec) means a device (else a dtype): 'cpu', 'cuda', 'gpu', 'cuda:...', 'gpu:...'.");

  py::class_<Tensor> t(m, "Tensor", py::buffer_protocol(), py::dynamic_attr());
  t.def_property_readonly("shape", [](const Tensor& x) { return py::tuple(py::cast(x.shape())); })
      .def_property_readonly("strides", [](const Tensor& x) { return py::tuple(py::cast(x.strides())); },
                             "Strides in elements (NumPy's are in bytes).")
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("device", &Tensor::device)
      .def_property_readonly("ndim", &Tensor::dim)
      .def_property_readonly("size", &Tensor::numel, "Number of elements, as NumPy's ndarray.size.")
      .def("numel", &Tensor::numel)
      .def_property_readonly("itemsize", &Tensor::itemsize)
      .def_property_readonly("nbytes", &Tensor::nbytes)
      .def_property_readonly("is_cuda", [](const Tensor& x) { return x.device().is_cuda(); })
      .def_property("requires_grad", [](const Tensor& x) { return x.impl()->requires_grad; },
                    [](const Tensor& x, bool v) { ag::set_requires_grad(x, v, "requires_grad"); })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("data_ptr", [](const Tensor& x) { return reinterpret_cast<uintptr_t>(x.data_ptr()); })
      .def("__len__", [](const Tensor& x) {
        AM_CHECK(x.dim() > 0, TypeError, "len() of a 0-d tensor");
        return x.shape()[0];
      })
      .def("item", [](const Tensor& x) { return scalar_to_python(item(x)); })
      .def("__bool__", [](const Tensor& x) {
        AM_CHECK(x.numel() == 1, ValueError, "the truth value of a tensor with ", x.numel(),
                 " elements is ambiguous; use .any() or .all()");
        return item(x).to<bool>();
      })
      .def("__float__", [](const Tensor& x) { return item(x).to<double>(); })
      .def("__int__", [](const Tensor& x) { return item(x).to<int64_t>(); })
      .def("__getitem__", [](const Tensor& x, const py::object& idx) { return ag::index(x, to_index(idx)); })
      .def("__setitem__", [](const Tensor& x, const py::object& idx, const py::object& value) {
        ag::check_in_place(x, "__setitem__");
        Tensor v = is_python_scalar(value) ? scalar_tensor(to_scalar(value), x.dtype(), x.device()) : to_tensor(value, &x);
        index_put(x, to_index(idx), v);
      })
      // Layout
      .def("contiguous", &ag::contiguous)
      .def("clone", &ag::clone)
      .def("copy_", [](const Tensor& x, const py::object& src) {
        ag::check_in_place(x, "copy_");
        copy_into(x, is_python_scalar(src) ? scalar_tensor(to_scalar(src), x.dtype(), x.device()) : to_tensor(src, &x));
        return x;
      }, py::arg("src"))
      .def("fill_", [](const Tensor& x, const py::object& v) {
        ag::check_in_place(x, "fill_");
        fill_(x, to_scalar(v));
        return x;
      }, py::arg("value"))
      .def("reshape", [](const Tensor& x, py::args shape) {
        return ag::reshape(x, to_shape_arg(single_or_all(shape)));
      })
      .def("view", [](const Tensor& x, py::args shape) { return ag::view(x, to_shape_arg(single_or_all(shape))); })
      .def("flatten", &ag::flatten, py::arg("start_axis") = 0, py::arg("end_axis") = -1)
      .def("transpose", [](const Tensor& x, py::args axes) {
        if (axes.size() == 0) return ag::matrix_transpose(x);
        if (axes.size() == 2 && py::isinstance<py::int_>(axes[0])) return ag::transpose(x, axes[0].cast<int64_t>(), axes[1].cast<int64_t>());
        return ag::permute(x, to_shape_arg(single_or_all(axes)));
      })
      .def("permute", [](const Tensor& x, py::args axes) { return ag::permute(x, to_shape_arg(single_or_all(axes))); })
      .def_property_readonly("T", &ag::matrix_transpose)
      .def("squeeze", [](const Tensor& x, const py::object& axis) {
        return axis.is_none() ? ag::squeeze(x, std::nullopt) : ag::squeeze(x, axis.cast<int64_t>());
      }, py::arg("axis") = py::none())
      .def("unsqueeze", &ag::unsqueeze, py::arg("axis"))
      .def("expand", [](const Tensor& x, py::args shape) { return ag::expand(x, to_shape_arg(single_or_all(shape)), "expand"); })
      .def("broadcast_to", [](const Tensor& x, const py::object& shape) { return ag::expand(x, to_shape_arg(shape)); }, py::arg("shape"));

  // Reductions: x.sum(axis=None, keepdims=False) and friends; var also takes ddof.
  for (int i = 0; i <= int(ReduceOp::All); ++i) {
    ReduceOp op = ReduceOp(i);
    if (op == ReduceOp::Var) continue;
    t.def(reduce_name(op), [op](const Tensor& x, const py::object& axis, bool keepdims) {
      return reduce_py(op, x, axis, keepdims, 0);
    }, py::arg("axis") = py::none(), py::arg("keepdims") = false);
  }
  t.def("var", [](const Tensor& x, const py::object& axis, int64_t ddof, bool keepdims) {
    return reduce_py(ReduceOp::Var, x, axis, keepdims, ddof);
  }, py::arg("axis") = py::none(), py::arg("ddof") = 0, py::arg("keepdims") = false);

  // Elementwise methods: x.exp(), x.relu(), ...
  for (int i = 0; i <= int(UnaryOp::LogicalNot); ++i) {
    UnaryOp op = UnaryOp(i);
    t.def(unary_name(op), [op](const Tensor& x) { return without_gil([&] { return ag::unary(op, x); }); });
  }
  t.def("softmax", [](const Tensor& x, int64_t axis) { return without_gil([&] { return ag::softmax(x, axis, false); }); },
        py::arg("axis") = -1);
  t.def("log_softmax", [](const Tensor& x, int64_t axis) { return without_gil([&] { return ag::softmax(x, axis, true); }); },
        py::arg("axis") = -1);
  t.def("clamp", [](const Tensor& x, const py::object& lo, const py::object& hi) {
    Scalar l = lo.is_none() ? Scalar::from_float(-INFINITY) : to_scalar(lo);
    Scalar h = hi.is_none() ? Scalar::from_float(INFINITY) : to_scalar(hi);
    return without_gil([&] { return ag::clamp(x, l, h); });
  }, py::arg("min") = py::none(), py::arg("max") = py::none());

  // Operators.
  auto op2 = [&](const char* name, BinaryOp op, bool reflected) {
    t.def(name, [op, reflected](const Tensor& a, const py::object& b) { return binary_py(op, a, b, reflected); },
          py::is_operator());
  };
  op2("__add__", BinaryOp::Add, false);       op2("__radd__", BinaryOp::Add, true);
  op2("__sub__", BinaryOp::Sub, false);       op2("__rsub__", BinaryOp::Sub, true);
  op2("__mul__", BinaryOp::Mul, false);       op2("__rmul__", BinaryOp::Mul, true);
  op2("__truediv__", BinaryOp::Div, false);   op2("__rtruediv__", BinaryOp::Div, true);
  op2("__pow__", BinaryOp::Pow, false);       op2("__rpow__", BinaryOp::Pow, true);
  op2("__mod__", BinaryOp::Remainder, false); op2("__rmod__", BinaryOp::Remainder, true);
  op2("__eq__", BinaryOp::Eq, false);         op2("__ne__", BinaryOp::Ne, false);
  op2("__lt__", BinaryOp::Lt, false);         op2("__le__", BinaryOp::Le, false);
  op2("__gt__", BinaryOp::Gt, false);         op2("__ge__", BinaryOp::Ge, false);
  op2("__and__", BinaryOp::LogicalAnd, false); op2("__rand__", BinaryOp::LogicalAnd, true);
  op2("__or__", BinaryOp::LogicalOr, false);   op2("__ror__", BinaryOp::LogicalOr, true);
  // In place: a += b writes into a's memory, so every view of it sees the change.
  auto iop = [&](const char* name, BinaryOp op) {
    t.def(name, [op](py::object self, const py::object& other) {
      Tensor a = self.cast<Tensor>();
      ag::check_in_place(a, binary_name(op));
      Tensor b = is_python_scalar(other) ? weak_scalar_tensor(to_scalar(other), a.dtype(), a.device()) : to_tensor(other, &a);
      without_gil([&] { binary_inplace(op, a, b); });
      return self;
    }, py::is_operator());
  };
  iop("__iadd__", BinaryOp::Add);
  iop("__isub__", BinaryOp::Sub);
  iop("__imul__", BinaryOp::Mul);
  iop("__itruediv__", BinaryOp::Div);
  iop("__ipow__", BinaryOp::Pow);
  iop("__imod__", BinaryOp::Remainder);
  iop("__iand__", BinaryOp::LogicalAnd);
  iop("__ior__", BinaryOp::LogicalOr);
  t.def("__neg__", [](const Tensor& x) { return ag::unary(UnaryOp::Neg, x); })
      .def("__abs__", [](const Tensor& x) { return ag::unary(UnaryOp::Abs, x); })
      .def("__invert__", [](const Tensor& x) {
        AM_CHECK(x.dtype() == DType::Bool, TypeError, "~ is defined for bool tensors only, got ", x.describe());
        return ag::unary(UnaryOp::LogicalNot, x);
      })
      .def("__matmul__", [](const Tensor& a, const py::object& b) {
        Tensor t = to_tensor(b, &a);
        return without_gil([&] { return ag::matmul(a, t); });
      }, py::is_operator())
      .def("__rmatmul__", [](const Tensor& a, const py::object& b) {
        Tensor t = to_tensor(b, &a);
        return without_gil([&] { return ag::matmul(t, a); });
      }, py::is_operator())
      .def("matmul", [](const Tensor& a, const Tensor& b) { return without_gil([&] { return ag::matmul(a, b); }); })
      // __eq__ is elementwise; hashing stays by identity of the underlying tensor.
      .def("__hash__", [](const Tensor& x) { return reinterpret_cast<uintptr_t>(x.impl()); });
}

}  // namespace aimass::bindings
