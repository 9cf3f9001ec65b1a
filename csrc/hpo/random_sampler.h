// RandomSampler's draw: a parameter uniformly in its transformed range, as Optuna's RandomSampler
// (its _SearchSpaceTransform): float in [low, high] (log: log-uniform); stepped float/int uniform
// in [low - step/2, high + step/2] (log int: log-uniform there) then rounded to the grid and
// clipped; categorical: a uniform choice index. QMCSampler maps its unit points the same way.
// An int parameter is told from a stepped float by integral low and step (the same rounding
// otherwise differs only on exact ties).
#pragma once
#include <algorithm>
#include <cmath>

#include "hpo/parzen_estimator.h"
#include "hpo/rng.h"

namespace aimass::hpo {

// A point t of the transformed range [lo, hi] back onto the parameter, with Optuna's rounding:
// int: floor(k + 1/2) steps; stepped float: steps rounded half to even; log int: exp rounded half
// to even; float: clipped below high (log: the float just below high).
inline double from_transformed(const ParzenParam& p, double t) {
  if (p.step > 0 && !p.log) {
    double k = (t - p.low) / p.step;
    bool is_int = p.step == std::floor(p.step) && p.low == std::floor(p.low);  // IntDistribution
    double x = (is_int ? std::floor(k + 0.5) : std::nearbyint(k)) * p.step + p.low;
    return std::clamp(x, p.low, p.high);
  }
  if (p.step > 0) return std::clamp(std::nearbyint(std::exp(t)), p.low, p.high);  // log int
  double x = p.log ? std::exp(t) : t;
  if (p.low == p.high) return x;
  return std::clamp(x, p.low, std::nextafter(p.high, -INFINITY));
}

// The transformed range: [low, high] (log: logs), stepped widened by half a step each side
// (log int: log(low - 1/2), log(high + 1/2)).
inline void transformed_bounds(const ParzenParam& p, double& lo, double& hi) {
  lo = p.low, hi = p.high;
  if (p.step > 0) lo -= p.step / 2, hi += p.step / 2;
  if (p.log) lo = std::log(lo), hi = std::log(hi);
}

// One draw of p in its internal representation (value, or choice index).
inline double sample_uniform(const ParzenParam& p, Rng& rng) {
  if (p.categorical) return double(rng.below(uint64_t(p.n_choices)));
  double lo, hi;
  transformed_bounds(p, lo, hi);
  return from_transformed(p, rng.uniform(lo, hi));
}

}  // namespace aimass::hpo
