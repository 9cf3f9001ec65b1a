// aimass._core.hpo: CMA-ES, NSGA-II and the Gaussian-process sampler.
#include "bindings/bindings.h"

namespace aimass::bindings {

void bind_hpo_evolution(py::module_& hpo) {}

}  // namespace aimass::bindings
