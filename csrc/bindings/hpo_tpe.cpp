// aimass._core.hpo: TPE, random, grid and QMC samplers.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_hpo_tpe(py::module_& hpo) {}

}  // namespace aimass::bindings
