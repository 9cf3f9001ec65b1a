#include "hpo/truncnorm.h"

#include <cfloat>
#include <cmath>

namespace aimass::hpo {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log sqrt(2 pi)

double ndtr(double x) { return 0.5 * std::erfc(-x * M_SQRT1_2); }

// log(exp(p) - exp(q)), p >= q
double log_diff(double p, double q) { return p + std::log1p(-std::exp(q - p)); }

}  // namespace

double log_ndtr(double x) {
  if (x > 6) return -ndtr(-x);  // log(1 - e) ~ -e, e < 1e-9
  if (x > -20) return std::log(ndtr(x));
  // Asymptotic series: Phi(x) ~ phi(x) / -x * (1 - 1/x^2 + 3/x^4 - 15/x^6 ...), summed until it stops changing.
  double log_lhs = -0.5 * x * x - std::log(-x) - kLogSqrt2Pi;
  double total = 1, last = 0, numerator = 1, denom = 1, inv_x2 = 1 / (x * x), sign = 1;
  for (int i = 1; std::fabs(last - total) > DBL_EPSILON && i < 100; ++i) {
    last = total;
    sign = -sign;
    denom *= inv_x2;
    numerator *= 2 * i - 1;
    total += sign * numerator * denom;
  }
  return log_lhs + std::log(total);
}

double log_gauss_mass(double a, double b) {
  if (b <= 0) return log_diff(log_ndtr(b), log_ndtr(a));
  if (a > 0) return log_diff(log_ndtr(-a), log_ndtr(-b));
  if (a < -9 && b > 9) return 0.0;  // both tails below 2e-19: log1p of them is 0 in double
  return std::log1p(-ndtr(a) - ndtr(-b));
}

double ndtri_exp(double y) {
  // Solve log Phi(x) = y. Close to y = 0 solve for -x on z = log(1 - exp(y)) instead (accuracy).
  bool flipped = y > -1e-2;
  double z = flipped ? std::log(-std::expm1(y)) : y;
  double x = z < -5 ? -std::sqrt(-2.0 * (z + kLogSqrt2Pi))                       // tail: log Phi ~ -x^2/2
                    : -(std::sqrt(3.0) / M_PI) * std::log(std::expm1(-z));       // logistic approximation
  for (int it = 0; it < 100; ++it) {
    double lx = log_ndtr(x);
    double dx = (lx - z) * std::exp(lx + 0.5 * x * x + kLogSqrt2Pi);  // (log Phi - z) * Phi / phi
    x -= dx;
    if (std::fabs(dx) < 1e-8 * std::fabs(x)) break;
  }
  return flipped ? -x : x;
}

double truncnorm_ppf(double q, double a, double b) {
  if (q <= 0) return a;
  if (q >= 1) return b;
  double log_mass = log_gauss_mass(a, b);
  if (a < 0) {  // Phi(x) = Phi(a) + q * mass
    double la = log_ndtr(a), lq = std::log(q) + log_mass;
    double hi = la > lq ? la : lq, lo = la > lq ? lq : la;
    return ndtri_exp(hi + std::log1p(std::exp(lo - hi)));
  }
  // mirrored: Phi(-x) = Phi(-b) + (1 - q) * mass
  double lb = log_ndtr(-b), lq = std::log1p(-q) + log_mass;
  double hi = lb > lq ? lb : lq, lo = lb > lq ? lq : lb;
  return -ndtri_exp(hi + std::log1p(std::exp(lo - hi)));
}

}  // namespace aimass::hpo
