// aimass._core.functional: normalisation, dropout and activations.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_functional_norm(py::module_& f) {}

}  // namespace aimass::bindings
