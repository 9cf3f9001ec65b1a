// The standard normal in log space, as TPE's truncated Gaussians need it: the log CDF far into
// the tails, the log mass of an interval, and the inverse CDF of a truncated normal.
//   Phi(x) = P(Z <= x), Z ~ N(0, 1). All functions are scalar and exact to a few ulp in the
//   region that matters (log masses down to -1e300 are kept finite by the asymptotic series).
#pragma once

namespace aimass::hpo {

double log_ndtr(double x);                  // log Phi(x), finite for every finite x
double log_gauss_mass(double a, double b);  // log (Phi(b) - Phi(a)), a <= b
double ndtri_exp(double y);                 // x with log Phi(x) = y (y <= 0), Newton on log_ndtr
// Inverse CDF of N(0,1) truncated to [a, b] at quantile q in [0, 1] (a < b).
double truncnorm_ppf(double q, double a, double b);

}  // namespace aimass::hpo
