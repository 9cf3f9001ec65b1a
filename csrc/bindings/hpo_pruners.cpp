// aimass._core.hpo: pruners and parameter importances.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_hpo_pruners(py::module_& hpo) {}

}  // namespace aimass::bindings
