// Module-level functions: aimass.exp(x), aimass.add(a, b), aimass.sum(x, axis), ...
#include "bindings/bindings.h"
#include "autograd/functions.h"
#include "bindings/ops_api.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/nn.h"
#include "ops/reduce.h"
#include "ops/shape.h"
#include "ops/weak_scalar.h"

namespace aimass::bindings {

namespace ag = aimass::autograd;

namespace {

Tensor as_tensor(const py::object& x) { return to_tensor(x, nullptr); }

std::vector<Tensor> as_tensors(const py::object& xs) {
  std::vector<Tensor> out;
  for (py::handle x : xs) out.push_back(to_tensor(x, out.empty() ? nullptr : &out[0]));
  return out;
}

// A Python number stays a number (typed weakly by ops/weak_scalar.h); anything else becomes a
// tensor on `like`'s device.
Operand operand(const py::object& x, const Tensor& like) {
  return is_python_scalar(x) ? Operand::number(to_scalar(x)) : Operand::of(to_tensor(x, &like));
}

}  // namespace

void bind_ops(py::module_& m) {
  for (int i = 0; i <= int(UnaryOp::LogicalNot); ++i) {
    UnaryOp op = UnaryOp(i);
    m.def(unary_name(op), [op](const py::object& x) {
      Tensor t = as_tensor(x);
      return without_gil([&] { return ag::unary(op, t); });
    }, py::arg("x"));
  }
  m.attr("negative") = m.attr("neg");
  for (int i = 0; i <= int(BinaryOp::LogicalOr); ++i) {
    BinaryOp op = BinaryOp(i);
    m.def(binary_name(op), [op](const py::object& a, const py::object& b) -> py::object {
      if (py::isinstance<Tensor>(a) || !is_python_scalar(a)) return binary_py(op, as_tensor(a), b, false);
      return binary_py(op, as_tensor(b), a, true);
    }, py::arg("a"), py::arg("b"));
  }
  m.attr("pow") = m.attr("power");
  m.def("where", [](const py::object& c, const py::object& a, const py::object& b) {
    Tensor cond = as_tensor(c);
    Operand oa = operand(a, cond), ob = operand(b, cond);
    return without_gil([&] {
      auto [ta, tb] = weak_operands(oa, ob, cond.device());
      return ag::where(cond, ta, tb);
    });
  }, py::arg("condition"), py::arg("x"), py::arg("y"));
  m.def("clamp", [](const py::object& x, const py::object& lo, const py::object& hi) {
    Tensor t = as_tensor(x);
    Scalar l = lo.is_none() ? Scalar::from_float(-INFINITY) : to_scalar(lo);
    Scalar h = hi.is_none() ? Scalar::from_float(INFINITY) : to_scalar(hi);
    return without_gil([&] { return ag::clamp(t, l, h); });
  }, py::arg("x"), py::arg("min") = py::none(), py::arg("max") = py::none());
  m.attr("clip") = m.attr("clamp");
  m.def("matmul", [](const py::object& a, const py::object& b) {
    Tensor ta = as_tensor(a), tb = to_tensor(b, &ta);
    return without_gil([&] { return ag::matmul(ta, tb); });
  }, py::arg("a"), py::arg("b"));

  for (int i = 0; i <= int(ReduceOp::All); ++i) {
    ReduceOp op = ReduceOp(i);
    if (op == ReduceOp::Var) continue;
    m.def(reduce_name(op), [op](const py::object& x, const py::object& axis, bool keepdims) {
      return reduce_py(op, as_tensor(x), axis, keepdims, 0);
    }, py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  }
  m.def("var", [](const py::object& x, const py::object& axis, int64_t ddof, bool keepdims) {
    return reduce_py(ReduceOp::Var, as_tensor(x), axis, keepdims, ddof);
  }, py::arg("x"), py::arg("axis") = py::none(), py::arg("ddof") = 0, py::arg("keepdims") = false);

  m.def("reshape", [](const py::object& x, const py::object& shape) { return ag::reshape(as_tensor(x), to_shape_arg(shape)); },
        py::arg("x"), py::arg("shape"));
  m.def("transpose", [](const py::object& x, const py::object& axes) {
    return axes.is_none() ? ag::matrix_transpose(as_tensor(x)) : ag::permute(as_tensor(x), to_shape_arg(axes));
  }, py::arg("x"), py::arg("axes") = py::none());
  m.def("permute", [](const py::object& x, const py::object& axes) { return ag::permute(as_tensor(x), to_shape_arg(axes)); },
        py::arg("x"), py::arg("axes"));
  m.def("swapaxes", [](const py::object& x, int64_t a, int64_t b) { return ag::transpose(as_tensor(x), a, b); },
        py::arg("x"), py::arg("axis1"), py::arg("axis2"));
  m.def("flatten", [](const py::object& x, int64_t s, int64_t e) { return ag::flatten(as_tensor(x), s, e); },
        py::arg("x"), py::arg("start_axis") = 0, py::arg("end_axis") = -1);
  m.def("squeeze", [](const py::object& x, const py::object& axis) {
    return axis.is_none() ? ag::squeeze(as_tensor(x), std::nullopt) : ag::squeeze(as_tensor(x), axis.cast<int64_t>());
  }, py::arg("x"), py::arg("axis") = py::none());
  m.def("unsqueeze", [](const py::object& x, int64_t axis) { return ag::unsqueeze(as_tensor(x), axis); }, py::arg("x"), py::arg("axis"));
  m.attr("expand_dims") = m.attr("unsqueeze");
  m.def("broadcast_to", [](const py::object& x, const py::object& shape) { return ag::expand(as_tensor(x), to_shape_arg(shape)); },
        py::arg("x"), py::arg("shape"));
  m.def("broadcast_shapes", [](const py::args& shapes) {
    Shape out;
    for (py::handle s : shapes) out = broadcast_shapes(out, to_shape_arg(py::reinterpret_borrow<py::object>(s)), "broadcast_shapes");
    return py::tuple(py::cast(out));
  });
  m.def("concatenate", [](const py::object& xs, int64_t axis) {
    std::vector<Tensor> ts = as_tensors(xs);
    return without_gil([&] { return ag::concatenate(ts, axis); });
  }, py::arg("tensors"), py::arg("axis") = 0);
  m.attr("cat") = m.attr("concatenate");
  m.def("stack", [](const py::object& xs, int64_t axis) {
    std::vector<Tensor> ts = as_tensors(xs);
    return without_gil([&] { return ag::stack(ts, axis); });
  }, py::arg("tensors"), py::arg("axis") = 0);
  m.def("softmax", [](const py::object& x, int64_t axis) {
    Tensor t = as_tensor(x);
    return without_gil([&] { return ag::softmax(t, axis, false); });
  }, py::arg("x"), py::arg("axis") = -1);
  m.def("log_softmax", [](const py::object& x, int64_t axis) {
    Tensor t = as_tensor(x);
    return without_gil([&] { return ag::softmax(t, axis, true); });
  }, py::arg("x"), py::arg("axis") = -1);
  m.def("cross_entropy", [](const py::object& logits, const py::object& target, const py::object& weight,
                            int64_t ignore_index, const std::string& reduction, double label_smoothing) {
    Tensor x = as_tensor(logits);
    // A target given as a list or array keeps its own kind: integers are class indices,
    // floats probabilities (converted to logits' dtype by the op).
    Tensor t = to_tensor(target, &x);
    Tensor w = weight.is_none() ? Tensor() : to_tensor(weight, &x);
    Reduction r = parse_reduction(reduction, "cross_entropy");
    return without_gil([&] { return ag::cross_entropy(x, t, w, ignore_index, r, label_smoothing); });
  }, py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
     py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0);
  m.def("contiguous", [](const py::object& x) { return ag::contiguous(as_tensor(x)); }, py::arg("x"));
}

}  // namespace aimass::bindings
