// aimass._core.functional: losses and linear.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_functional_loss(py::module_& f) {}

}  // namespace aimass::bindings
