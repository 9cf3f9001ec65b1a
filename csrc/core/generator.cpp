#include <atomic>
#include <mutex>

#include "core/philox.h"

namespace aimass {

namespace {
std::mutex g_mutex;
GeneratorState g_state{0x853c49e6748fea9bULL, 0};
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_state = GeneratorState{seed, 0};
}

GeneratorState reserve_random(uint64_t n) {
  std::lock_guard<std::mutex> lock(g_mutex);
  GeneratorState out = g_state;
  g_state.offset += n;
  return out;
}

}  // namespace aimass
