// aimass._core.optim: optimizers, LR schedules, gradient clipping.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_optim(py::module_& m) {}

}  // namespace aimass::bindings
