// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. Element i of a random tensor is a pure function of (seed,
// offset + i), so the CPU and CUDA kernels fill a tensor with the same numbers and any
// slice of the work can be done by any thread.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/dtype.h"  // AM_HOST_DEVICE

namespace aimass {

struct Philox4 {
  uint32_t v[4];
};

AM_HOST_DEVICE inline Philox4 philox4x32(uint64_t counter, uint64_t seed) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0, p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits; never 1.
AM_HOST_DEVICE inline float uniform_from_bits(uint32_t bits) { return float(bits >> 8) * (1.0f / 16777216.0f); }
// Uniform in [0, 1) with 53 random bits.
AM_HOST_DEVICE inline double uniform53(uint32_t hi, uint32_t lo) {
  return double((uint64_t(hi) << 21) ^ (lo >> 11)) * (1.0 / 9007199254740992.0);
}

// Counter i gives four 32-bit words; element i of a random tensor uses counter (offset + i).
// Normal: Box-Muller on the first two words (double precision so float32 and float64 tensors
// agree to rounding). Integer in [low, high): a 64-bit draw reduced by multiply-high.
AM_HOST_DEVICE inline double philox_uniform(uint64_t seed, uint64_t counter) {
  Philox4 r = philox4x32(counter, seed);
  return uniform53(r.v[0], r.v[1]);
}
AM_HOST_DEVICE inline double philox_normal(uint64_t seed, uint64_t counter) {
  Philox4 r = philox4x32(counter, seed);
  double u1 = 1.0 - uniform53(r.v[0], r.v[1]);  // (0, 1]
  double u2 = uniform53(r.v[2], r.v[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
AM_HOST_DEVICE inline int64_t philox_integer(uint64_t seed, uint64_t counter, int64_t low, uint64_t range) {
  Philox4 r = philox4x32(counter, seed);
  uint64_t x = (uint64_t(r.v[0]) << 32) | r.v[1];
#if defined(__CUDA_ARCH__)
  uint64_t hi = __umul64hi(x, range);
#else
  uint64_t hi = uint64_t((unsigned __int128)x * range >> 64);
#endif
  return low + int64_t(hi);
}

// The process-wide generator state: a seed (am.manual_seed) and the next unused counter.
struct GeneratorState {
  uint64_t seed;
  uint64_t offset;
};
void manual_seed(uint64_t seed);
// Reserves n counters; returns the seed and the first counter to use.
GeneratorState reserve_random(uint64_t n);

}  // namespace aimass
