// What this build of aimass is and what it sees: reported by aimass.info() and `aimass info`.
#pragma once
#include <string>

namespace aimass {

const char* version();
bool cuda_built();               // was libaimass_cuda built alongside the core
const char* cuda_toolkit_version();  // the CUDA toolkit it was built with, "" when none
std::string blas_config();       // the BLAS library's own description
// The CPU kernels' instruction set, cpu_simd_level(), is in core/cpu_isa.h.

}  // namespace aimass
