// Autograd on the Python side: backward, .grad, grad_fn, detach, grad mode.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "bindings/bindings.h"
#include "core/error.h"

namespace aimass::bindings {

namespace ag = aimass::autograd;

void bind_autograd(py::module_& m) {
  auto cls = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  cls.def("backward", [](const Tensor& x, const py::object& gradient, bool retain_graph) {
       Tensor g = gradient.is_none() ? Tensor() : to_tensor(gradient, &x);
       py::gil_scoped_release release;
       ag::backward({x}, {g}, retain_graph);
     }, py::arg("gradient") = py::none(), py::arg("retain_graph") = false,
     "Accumulates d(self)/d(leaf) into every leaf's .grad; gradient is needed unless self has one element.")
      .def_property("grad", [](const Tensor& x) -> py::object {
        if (!x.impl()->autograd || !ag::meta(x).grad.defined()) return py::none();
        return py::cast(ag::meta(x).grad);
      }, [](const Tensor& x, const py::object& g) {
        if (g.is_none()) {
          if (x.impl()->autograd) ag::meta(x).grad = Tensor();
          return;
        }
        Tensor t = g.cast<Tensor>();
        AM_CHECK(t.shape() == x.shape() && t.device() == x.device(), ValueError, "grad: assigned ", t.describe(),
                 " to a gradient of ", x.describe());
        ag::meta(x).grad = t;
      })
      .def_property_readonly("grad_fn", [](const Tensor& x) -> py::object {
        if (!x.impl()->autograd || !ag::meta(x).grad_fn) return py::none();
        return py::str(ag::meta(x).grad_fn->name());
      }, "The name of the op that made this tensor (None for leaves).")
      .def_property_readonly("is_leaf", [](const Tensor& x) {
        return !x.impl()->autograd || !ag::meta(x).grad_fn;
      })
      .def("detach", [](const Tensor& x) { return x.as_strided(x.shape(), x.strides(), x.offset()); },
           "A view of the same memory that is not part of the graph.")
      .def("requires_grad_", [](const Tensor& x, bool flag) {
        AM_CHECK(!x.impl()->autograd || !ag::meta(x).grad_fn || flag, RuntimeError,
                 "requires_grad_: can only change the flag of a leaf tensor; use detach()");
        AM_CHECK(!flag || is_floating(x.dtype()), TypeError,
                 "requires_grad_: only floating tensors can require gradients, got ", x.describe());
        x.impl()->requires_grad = flag;
        return x;
      }, py::arg("requires_grad") = true);
  m.def("set_grad_enabled", &ag::set_grad_enabled, py::arg("enabled"));
  m.def("is_grad_enabled", &ag::grad_enabled);
}

}  // namespace aimass::bindings
