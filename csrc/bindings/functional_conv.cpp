// aimass._core.functional: convolution and pooling.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_functional_conv(py::module_& f) {}

}  // namespace aimass::bindings
