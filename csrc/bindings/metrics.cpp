// aimass._core.metrics: metrics.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_metrics(py::module_& m) {}

}  // namespace aimass::bindings
