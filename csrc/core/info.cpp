#include "core/info.h"

#include <cblas.h>

#ifndef AIMASS_VERSION
#define AIMASS_VERSION "0.0.0"
#endif
#ifndef AIMASS_CUDA_TOOLKIT_VERSION
#define AIMASS_CUDA_TOOLKIT_VERSION ""
#endif
#ifndef AIMASS_CUDA_BUILT
#define AIMASS_CUDA_BUILT 0
#endif

namespace aimass {

const char* version() { return AIMASS_VERSION; }
bool cuda_built() { return AIMASS_CUDA_BUILT; }
const char* cuda_toolkit_version() { return AIMASS_CUDA_TOOLKIT_VERSION; }
std::string blas_config() { return std::string("OpenBLAS (scipy-openblas32) ") + scipy_openblas_get_config(); }

}  // namespace aimass
