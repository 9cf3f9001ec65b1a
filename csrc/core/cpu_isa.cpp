// The CPU instruction-set switch (cpu_isa.h): detection, AIMASS_CPU_ISA, the run-time level and
// the dispatch-counting test hook.
#include "core/cpu_isa.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "core/error.h"

namespace aimass {

namespace {

constexpr const char* kNames[kCpuIsaCount] = {"baseline", "avx2", "avx512"};

// The only place that asks the CPU what it has. F16C is part of both vector levels (the float16
// conversions of the SIMD table use it).
CpuIsa detect() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return CpuIsa::Avx512;
  if (avx2) return CpuIsa::Avx2;
#endif
  return CpuIsa::Baseline;
}

bool detect_avx512_vnni() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

CpuIsa lower(CpuIsa a, CpuIsa b) { return int(a) < int(b) ? a : b; }

// AIMASS_CPU_ISA's level, or the highest when it is unset. A cap, not a request: on a CPU
// below it the CPU's own level holds (a CI script may name avx2 on any runner).
CpuIsa environment_cap() {
  const char* env = std::getenv("AIMASS_CPU_ISA");
  if (!env || !*env) return CpuIsa::Avx512;
  for (int i = 0; i < kCpuIsaCount; ++i)
    if (std::strcmp(env, kNames[i]) == 0) return CpuIsa(i);
  throw ValueError(str_cat("AIMASS_CPU_ISA='", env, "' is not a level (expected baseline, avx2 or avx512)"));
}

// The limit and the current level, resolved on first use (a bad AIMASS_CPU_ISA throws there,
// and again at every later use, as the static is still uninitialised).
struct State {
  CpuIsa cpu = detect();
  bool vnni = cpu == CpuIsa::Avx512 && detect_avx512_vnni();
  CpuIsa cap = environment_cap();
  CpuIsa limit = lower(cpu, cap);
  std::atomic<CpuIsa> current{limit};
};

State& state() {
  static State s;
  return s;
}

// The test hook's counts, keyed by site name; touched only while counting is on.
std::atomic<bool> g_counting{false};
std::mutex g_counts_mutex;
std::map<std::string, std::array<int64_t, kCpuIsaCount>>& counts() {
  static std::map<std::string, std::array<int64_t, kCpuIsaCount>> c;
  return c;
}

}  // namespace

CpuIsa cpu_isa() { return state().current.load(std::memory_order_relaxed); }

CpuIsa cpu_isa_limit() { return state().limit; }

void set_cpu_isa(CpuIsa isa) {
  AM_CHECK(int(isa) >= 0 && int(isa) < kCpuIsaCount, ValueError, "set_cpu_isa: no level ", int(isa));
  State& s = state();
  AM_CHECK(int(isa) <= int(s.cpu), ValueError, "set_cpu_isa('", cpu_isa_name(isa), "'): this CPU has only ",
           cpu_isa_name(s.cpu));
  AM_CHECK(int(isa) <= int(s.cap), ValueError, "set_cpu_isa('", cpu_isa_name(isa), "'): AIMASS_CPU_ISA=",
           cpu_isa_name(s.cap), " caps this process at ", cpu_isa_name(s.cap));
  s.current.store(isa, std::memory_order_relaxed);
}

bool cpu_has_avx512_vnni() { return state().vnni && cpu_isa() == CpuIsa::Avx512; }

const char* cpu_isa_name(CpuIsa isa) { return kNames[int(isa)]; }

CpuIsa cpu_isa_from_name(const char* name) {
  for (int i = 0; i < kCpuIsaCount; ++i)
    if (std::strcmp(name, kNames[i]) == 0) return CpuIsa(i);
  throw ValueError(str_cat("unknown CPU instruction set '", name, "' (expected baseline, avx2 or avx512)"));
}

const char* cpu_simd_level() { return cpu_isa_name(cpu_isa()); }

void set_cpu_simd_level(const char* level) { set_cpu_isa(cpu_isa_from_name(level)); }

CpuIsa cpu_isa_at(const char* site) {
  const CpuIsa isa = cpu_isa();
  if (g_counting.load(std::memory_order_relaxed)) {
    std::lock_guard<std::mutex> lock(g_counts_mutex);
    ++counts()[site][size_t(isa)];
  }
  return isa;
}

void set_isa_dispatch_counting(bool on) {
  std::lock_guard<std::mutex> lock(g_counts_mutex);
  counts().clear();
  g_counting.store(on, std::memory_order_relaxed);
}

int64_t isa_dispatch_count(const char* site, CpuIsa isa) {
  std::lock_guard<std::mutex> lock(g_counts_mutex);
  auto it = counts().find(site);
  return it == counts().end() ? 0 : it->second[size_t(isa)];
}

}  // namespace aimass
