// The one instruction-set switch of the CPU kernels. Every ISA-specific path (the per-ISA
// compiled SIMD table, ops/cpu/simd; the target-attributed kernels of the k-NN scan, the GEMM,
// pooling, the optimizer steps, k-means) is chosen by cpu_isa(), and nothing else asks the CPU
// what it has (detect() and detect_avx512_vnni() in cpu_isa.cpp are the only cpuid).
//
//   cpu_isa_limit() = the best the CPU has (detected once), lowered by AIMASS_CPU_ISA;
//   cpu_isa()       = the level set by set_cpu_isa, else cpu_isa_limit(); never above the limit.
//
// AIMASS_CPU_ISA lowers the limit for the whole process, so a run with AIMASS_CPU_ISA=avx2 on an
// AVX-512 machine takes the paths of an AVX2 machine everywhere: that is how CI runs the AVX2
// and baseline kernels (tests/run.sh). It is a cap: naming a level above the CPU's leaves the
// CPU's. An unknown value is a ValueError at first use (in Python: at import). Asking set_cpu_isa
// for a level above the limit is a ValueError that says which (the CPU or AIMASS_CPU_ISA) is short.
#pragma once
#include <cstdint>

namespace aimass {

// Levels in increasing order: each includes the ones below.
//   Baseline: x86-64 (SSE2); Avx2: + AVX2, FMA, F16C; Avx512: + AVX-512 F, BW, VL, DQ.
enum class CpuIsa : int { Baseline = 0, Avx2 = 1, Avx512 = 2 };
constexpr int kCpuIsaCount = 3;

CpuIsa cpu_isa();
CpuIsa cpu_isa_limit();
// Switches the level for this process (the tests run every level): ValueError above
// cpu_isa_limit(), the level left as it was.
void set_cpu_isa(CpuIsa isa);

const char* cpu_isa_name(CpuIsa isa);        // "baseline", "avx2", "avx512"
CpuIsa cpu_isa_from_name(const char* name);  // ValueError for any other name

// The same switch by name, for Python and aimass.info() ("baseline", "avx2", "avx512").
const char* cpu_simd_level();
void set_cpu_simd_level(const char* level);

// Test hook: which variant each dispatch point took. A kernel asks cpu_isa_at("its name")
// where it picks its variant; with counting off that is cpu_isa() and one relaxed load, with it
// on every (site, level) pair is counted, so a test can see that the path taken followed the
// level. Turning counting on or off clears the counts.
CpuIsa cpu_isa_at(const char* site);
void set_isa_dispatch_counting(bool on);
int64_t isa_dispatch_count(const char* site, CpuIsa isa);

// AVX-512 VNNI (vpdpbusd, the int8 GEMM's instruction, quant/int8_gemm.h): not implied by the
// Avx512 level (Skylake-X has AVX-512 without it), so it is asked separately. Detected once
// with the level; false whenever cpu_isa() is below Avx512, so lowering the level (set_cpu_isa,
// AIMASS_CPU_ISA) turns it off too.
bool cpu_has_avx512_vnni();

}  // namespace aimass

// The target attributes of the per-ISA variants written outside the SIMD table: the instruction
// sets of the levels above, the same flags simd_kernels.cpp is compiled with per level
// (csrc/CMakeLists.txt). A variant with AM_TARGET_AVX512 runs only when cpu_isa() is Avx512.
#define AM_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define AM_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
// The Avx512 level plus VNNI: only where cpu_has_avx512_vnni().
#define AM_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
