// aimass._core.nn: Module and the native layers.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_nn(py::module_& m) {}

}  // namespace aimass::bindings
