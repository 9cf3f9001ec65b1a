// What this build of aimass is and what it sees: reported by aimass.info() and `aimass info`.
#pragma once
#include <string>

namespace aimass {

const char* version();
bool cuda_built();               // was libaimass_cuda built alongside the core
const char* cuda_toolkit_version();  // the CUDA toolkit it was built with, "" when none
std::string blas_config();       // the BLAS library's own description
const char* cpu_simd_level();    // "avx512", "avx2" or "baseline": the CPU kernels in use

}  // namespace aimass
