// RandomSampler's draw: a parameter uniformly in its transformed range, as Optuna's RandomSampler
// (its _SearchSpaceTransform): float in [low, high] (log: log-uniform); stepped float/int uniform
// in [low - step/2, high + step/2] (log int: log-uniform there) then rounded to the grid and
// clipped; categorical: a uniform choice index.
#pragma once
#include <algorithm>
#include <cmath>

#include "hpo/parzen_estimator.h"
#include "hpo/rng.h"

namespace aimass::hpo {

// One draw of p in its internal representation (value, or choice index).
inline double sample_uniform(const ParzenParam& p, Rng& rng) {
  if (p.categorical) return double(rng.below(uint64_t(p.n_choices)));
  double lo = p.low, hi = p.high;
  if (p.step > 0) lo -= p.step / 2, hi += p.step / 2;
  if (p.log) lo = std::log(lo), hi = std::log(hi);
  double x = rng.uniform(lo, hi);
  if (p.log) x = std::exp(x);
  if (p.step > 0) x = p.low + std::round((x - p.low) / p.step) * p.step;
  return std::clamp(x, p.low, p.high);
}

}  // namespace aimass::hpo
