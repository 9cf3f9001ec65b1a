// The SIMD kernel table of the level cpu_isa() names (core/cpu_isa.h holds the rule).
#include "ops/cpu/simd/simd.h"

namespace aimass::simd {

const KernelTable& kernels() {
  static const KernelTable* const tables[kCpuIsaCount] = {&baseline::kTable, &avx2::kTable, &avx512::kTable};
  return *tables[int(cpu_isa_at("simd_table"))];
}

}  // namespace aimass::simd
