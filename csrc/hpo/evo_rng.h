// The random numbers of the CMA-ES, NSGA-II and GP samplers: a 64-bit Mersenne twister with our own
// uniform and normal draws, so a seed gives the same numbers with every standard library.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>

namespace aimass::hpo {

class EvoRng {
 public:
  explicit EvoRng(uint64_t seed) : gen_(seed) {}
  double uniform() { return double(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {                                               // N(0, 1), Box-Muller
    if (has_spare_) { has_spare_ = false; return spare_; }
    double u1 = 1.0 - uniform(), u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * M_PI * u2;
    spare_ = r * std::sin(t);
    has_spare_ = true;
    return r * std::cos(t);
  }
  int64_t below(int64_t n) { return int64_t(uniform() * double(n)); }  // [0, n)

 private:
  std::mt19937_64 gen_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace aimass::hpo
