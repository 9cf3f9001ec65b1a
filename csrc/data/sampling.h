// The data pipeline's random draws. Each is a pure function of (seed, counter) from the Philox
// generator (core/philox.h), so a batch's randomness does not depend on which thread makes it
// or when: the loader reserves the counters of a whole epoch up front (reserve_random).
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::data {

// A uniformly random permutation of [0, n) (Fisher-Yates); uses counters [counter, counter + n).
std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, uint64_t counter);
// The same from the process-wide generator (am.manual_seed), reserving n counters.
std::vector<int64_t> random_permutation(int64_t n);

// Counters reserved per sample for its augmentation draws (flip, crop offsets, mixup's Beta).
constexpr uint64_t kSampleCounters = 64;

// Draws of one sample from its block of kSampleCounters counters starting at `counter`.
struct SampleDraws {
  bool flip;       // p = 0.5
  int64_t dy, dx;  // uniform in [0, crop_range)
  double lam;      // Beta(alpha, alpha) when alpha > 0, else 1
};
SampleDraws sample_draws(uint64_t seed, uint64_t counter, int64_t crop_range, double alpha);

}  // namespace aimass::data
