// aimass._core.data: the data pipeline.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_data(py::module_& m) {}

}  // namespace aimass::bindings
