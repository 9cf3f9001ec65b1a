// Autograd on the Python side: backward, .grad, grad_fn, detach, grad mode.
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/leaf_rules.h"
#include "bindings/bindings.h"

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
        Tensor g = ag::grad_of(x);
        return g.defined() ? py::cast(g) : py::none();
      }, [](const Tensor& x, const py::object& g) { ag::set_grad(x, g.is_none() ? Tensor() : g.cast<Tensor>()); })
      .def_property_readonly("grad_fn", [](const Tensor& x) -> py::object {
        std::string name = ag::grad_fn_name(x);
        return name.empty() ? py::object(py::none()) : py::object(py::str(name));
      }, "The name of the op that made this tensor (None for leaves).")
      .def_property_readonly("is_leaf", &ag::is_leaf)
      .def("detach", [](const Tensor& x) { return x.as_strided(x.shape(), x.strides(), x.offset()); },
           "A view of the same memory that is not part of the graph.")
      .def("requires_grad_", [](const Tensor& x, bool flag) {
        ag::set_requires_grad(x, flag, "requires_grad_");
        return x;
      }, py::arg("requires_grad") = true);
  m.def("set_grad_enabled", &ag::set_grad_enabled, py::arg("enabled"));
  m.def("is_grad_enabled", &ag::grad_enabled);
}

}  // namespace aimass::bindings
