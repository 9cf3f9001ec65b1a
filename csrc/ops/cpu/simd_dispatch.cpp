// Picks the SIMD kernel table at run time: the best instruction set this CPU supports
// (cpuid via __builtin_cpu_supports), or a lower one asked for by AIMASS_CPU_ISA.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "ops/cpu/simd/simd.h"

namespace aimass {

namespace {

// Levels from lowest to highest.
const simd::KernelTable* const kLevels[] = {&simd::baseline::kTable, &simd::avx2::kTable, &simd::avx512::kTable};

int best_supported_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("f16c"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 1;
  return 0;
}

int level_index(const char* name) {
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(name, kLevels[i]->level) == 0) return i;
  return -1;
}

const simd::KernelTable* initial_table() {
  int level = best_supported_level();
  if (const char* env = std::getenv("AIMASS_CPU_ISA")) {
    int asked = level_index(env);
    if (asked >= 0 && asked < level) level = asked;
  }
  return kLevels[level];
}

std::atomic<const simd::KernelTable*>& current_table() {
  static std::atomic<const simd::KernelTable*> table{initial_table()};
  return table;
}

}  // namespace

const char* cpu_simd_level() { return current_table().load(std::memory_order_relaxed)->level; }

void set_cpu_simd_level(const char* level) {
  int asked = level_index(level);
  AM_CHECK(asked >= 0, ValueError, "set_cpu_simd_level: unknown level '", level,
           "' (expected baseline, avx2 or avx512)");
  int best = best_supported_level();
  current_table().store(kLevels[asked < best ? asked : best], std::memory_order_relaxed);
}

const simd::KernelTable& simd::kernels() { return *current_table().load(std::memory_order_relaxed); }

}  // namespace aimass
