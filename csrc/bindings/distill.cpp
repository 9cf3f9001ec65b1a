// aimass._core.quant: knowledge distillation in the native fit loop (quant/distill.h).
#include "bindings/bindings.h"
#include "quant/distill.h"

namespace aimass::bindings {

void bind_distill(py::module_& quant) {
  py::class_<quant::DistillationPair, nn::Module, py::smart_holder>(quant, "_DistillationPair")
      .def(py::init<std::shared_ptr<nn::Module>, std::shared_ptr<nn::Module>>(), py::arg("student"), py::arg("teacher"));
  py::class_<quant::DistillationLoss, nn::Loss, py::smart_holder>(quant, "DistillationLoss")
      .def(py::init<double, double>(), py::arg("temperature") = 4.0, py::arg("alpha") = 0.9)
      .def_property_readonly("temperature", &quant::DistillationLoss::temperature)
      .def_property_readonly("alpha", &quant::DistillationLoss::alpha);
  py::class_<quant::StudentMetric, metrics::StreamingMetric>(quant, "_StudentMetric")
      .def(py::init<const std::string&>(), py::arg("name"));
}

}  // namespace aimass::bindings
