#include "data/sampling.h"

#include <cmath>
#include <utility>

#include "core/philox.h"

namespace aimass::data {

namespace {

// Uniforms in [0, 1), two per Philox counter, counters taken in order.
class UniformStream {
 public:
  UniformStream(uint64_t seed, uint64_t counter) : seed_(seed), counter_(counter) {}
  double next() {
    if (have_ == 0) {
      block_ = philox4x32(counter_++, seed_);
      have_ = 2;
    }
    --have_;
    return have_ == 1 ? uniform53(block_.v[0], block_.v[1]) : uniform53(block_.v[2], block_.v[3]);
  }
  double normal() {  // Box-Muller
    double u1 = 1.0 - next(), u2 = next();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t seed_, counter_;
  Philox4 block_{};
  int have_ = 0;
};

// Marsaglia and Tsang, "A simple method for generating gamma variables" (2000), with the
// U^(1/a) boost for a < 1. Accepts ~97% of the time for a >= 1, so a sample's counter block
// (kSampleCounters, 2 uniforms each) is exhausted with negligible probability; past it the
// stream runs on into the next block, still a function of (seed, counter) alone.
double gamma(double a, UniformStream& u) {
  if (a < 1) {
    double g = gamma(a + 1, u);
    return g * std::pow(1.0 - u.next(), 1.0 / a);
  }
  const double d = a - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = u.normal(), v = 1.0 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    double w = 1.0 - u.next();  // (0, 1]
    if (std::log(w) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

}  // namespace

std::vector<int64_t> random_permutation(int64_t n, uint64_t seed, uint64_t counter) {
  std::vector<int64_t> perm(size_t(n > 0 ? n : 0));
  for (int64_t i = 0; i < n; ++i) perm[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[size_t(i)], perm[size_t(philox_integer(seed, counter + uint64_t(i), 0, uint64_t(i) + 1))]);
  return perm;
}

std::vector<int64_t> random_permutation(int64_t n) {
  GeneratorState g = reserve_random(uint64_t(n > 0 ? n : 0));
  return random_permutation(n, g.seed, g.offset);
}

SampleDraws sample_draws(uint64_t seed, uint64_t counter, int64_t crop_range, double alpha) {
  Philox4 r = philox4x32(counter, seed);
  SampleDraws d;
  d.flip = (r.v[0] >> 31) != 0;
  const uint64_t range = uint64_t(crop_range > 0 ? crop_range : 1);
  d.dy = int64_t((uint64_t(r.v[1]) * range) >> 32);
  d.dx = int64_t((uint64_t(r.v[2]) * range) >> 32);
  d.lam = 1.0;
  if (alpha > 0) {
    UniformStream u(seed, counter + 1);
    double a = gamma(alpha, u), b = gamma(alpha, u);
    d.lam = (a + b) > 0 ? a / (a + b) : 0.5;  // both underflow only for tiny alpha
  }
  return d;
}

}  // namespace aimass::data
