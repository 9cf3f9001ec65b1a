// A small seedable generator for the samplers: xoshiro256** seeded through splitmix64 (so any
// 64-bit seed, 0 included, gives a good state). One Rng per sampler; not thread-safe (the Python
// side holds the GIL or a lock around each call). Same seed -> same stream on every platform.
#pragma once
#include <cstdint>
#include <random>

namespace aimass::hpo {

class Rng {
 public:
  explicit Rng(uint64_t seed) { reseed(seed); }
  Rng() { reseed_random(); }

  void reseed(uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }
  void reseed_random() {
    std::random_device rd;
    reseed((uint64_t(rd()) << 32) ^ rd());
  }

  uint64_t next() {
    uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }              // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }  // [lo, hi)
  // Uniform integer in [0, n), n >= 1 (Lemire's multiply-shift, rejection for exactness).
  uint64_t below(uint64_t n) {
    __uint128_t m = __uint128_t(next()) * n;
    uint64_t l = uint64_t(m);
    if (l < n) {
      uint64_t t = -n % n;
      while (l < t) { m = __uint128_t(next()) * n; l = uint64_t(m); }
    }
    return uint64_t(m >> 64);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace aimass::hpo
