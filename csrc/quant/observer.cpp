#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace aimass::quant {

QParams u8_qparams(float lo, float hi, bool symmetric) {
  QParams q;
  if (symmetric) {
    const float a = std::max(std::fabs(lo), std::fabs(hi));
    q.scale = a > 0 ? 2.0f * a / 255.0f : 1.0f;
    q.zero = 128;
    return q;
  }
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  q.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  q.zero = std::min(255, std::max(0, int32_t(std::nearbyint(-lo / q.scale))));
  return q;
}

ObserverMethod observer_method_from_name(const std::string& name) {
  if (name == "minmax") return ObserverMethod::MinMax;
  if (name == "moving_average" || name == "moving") return ObserverMethod::Moving;
  if (name == "percentile") return ObserverMethod::Percentile;
  if (name == "entropy" || name == "kl") return ObserverMethod::Entropy;
  throw ValueError(str_cat("observer: unknown method '", name,
                           "' (expected 'minmax', 'moving_average', 'percentile' or 'entropy')"));
}

const char* observer_method_name(ObserverMethod m) {
  switch (m) {
    case ObserverMethod::MinMax: return "minmax";
    case ObserverMethod::Moving: return "moving_average";
    case ObserverMethod::Percentile: return "percentile";
    case ObserverMethod::Entropy: return "entropy";
  }
  return "?";
}

Observer::Observer(ObserverMethod method, double momentum, double percentile, int64_t bins)
    : method_(method), momentum_(momentum), percentile_(percentile), bins_(bins) {
  AM_CHECK(momentum > 0 && momentum <= 1, ValueError, "observer: momentum must be in (0, 1], got ", momentum);
  AM_CHECK(percentile > 0 && percentile <= 100, ValueError, "observer: percentile must be in (0, 100], got ",
           percentile);
  AM_CHECK(bins >= 256, ValueError, "observer: bins must be at least 256, got ", bins);
}

void Observer::update(const float* x, int64_t n) {
  if (n <= 0) return;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    AM_CHECK(std::isfinite(x[i]), ValueError, "observer (", observer_method_name(method_), "): the calibration data ",
             "holds ", x[i], " (element ", i, " of a batch of ", n, "); calibration data must be finite");
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (count_ == 0) {
    min_ = lo;
    max_ = hi;
    avg_min_ = lo;
    avg_max_ = hi;
  } else {
    min_ = std::min(min_, lo);
    max_ = std::max(max_, hi);
    avg_min_ += momentum_ * (lo - avg_min_);
    avg_max_ += momentum_ * (hi - avg_max_);
  }
  count_ += n;
  if (method_ == ObserverMethod::Percentile || method_ == ObserverMethod::Entropy)
    add_to_histogram(x, n, std::max(std::fabs(lo), std::fabs(hi)));
}

void Observer::add_to_histogram(const float* x, int64_t n, float amax) {
  if (hist_.empty()) {
    hist_.assign(size_t(bins_), 0.0);
    hist_max_ = amax > 0 ? amax : 1.0f;
  } else if (amax > hist_max_) {
    // Re-bin onto a range that holds the new values: each old bin's count moves to the new bin
    // holding its centre.
    const float new_max = std::max(amax, hist_max_ * 1.5f);
    std::vector<double> moved(size_t(bins_), 0.0);
    const double old_width = double(hist_max_) / double(bins_), new_width = double(new_max) / double(bins_);
    for (int64_t b = 0; b < bins_; ++b) {
      if (hist_[size_t(b)] == 0) continue;
      int64_t nb = std::min<int64_t>(bins_ - 1, int64_t(((double(b) + 0.5) * old_width) / new_width));
      moved[size_t(nb)] += hist_[size_t(b)];
    }
    hist_.swap(moved);
    hist_max_ = new_max;
  }
  const double scale = double(bins_) / double(hist_max_);
  for (int64_t i = 0; i < n; ++i) {
    int64_t b = std::min<int64_t>(bins_ - 1, int64_t(std::fabs(x[i]) * scale));
    hist_[size_t(b)] += 1.0;
  }
}

float Observer::percentile_threshold() const {
  double total = 0;
  for (double c : hist_) total += c;
  const double target = total * percentile_ / 100.0;
  double seen = 0;
  for (int64_t b = 0; b < bins_; ++b) {
    seen += hist_[size_t(b)];
    if (seen >= target) return float((double(b) + 1.0) * hist_max_ / double(bins_));
  }
  return hist_max_;
}

// KL(P || Q) for each candidate threshold (a number of bins i): P is the histogram cut at i with
// everything beyond added to its last bin; Q is P merged into `levels` quantisation bins and
// spread back evenly over the non-empty bins of each. The best i has the smallest divergence.
float Observer::entropy_threshold() const {
  const int levels = min_ >= 0 ? 255 : 128;  // one-signed data uses every u8 level on |x|
  int64_t last = bins_ - 1;
  while (last > 0 && hist_[size_t(last)] == 0) --last;
  if (last + 1 <= levels) return float((double(last) + 1.0) * hist_max_ / double(bins_));
  double best_kl = std::numeric_limits<double>::infinity();
  int64_t best_i = last + 1;
  std::vector<double> p, q;
  const int64_t step = std::max<int64_t>(1, (last + 1 - levels) / 256);  // at most ~256 candidates
  for (int64_t i = levels; i <= last + 1; i += step) {
    p.assign(hist_.begin(), hist_.begin() + i);
    double outliers = 0;
    for (int64_t b = i; b < bins_; ++b) outliers += hist_[size_t(b)];
    p.back() += outliers;
    q.assign(size_t(i), 0.0);
    for (int j = 0; j < levels; ++j) {
      const int64_t b0 = int64_t(double(j) * double(i) / levels), b1 = int64_t(double(j + 1) * double(i) / levels);
      double sum = 0;
      int64_t nonzero = 0;
      for (int64_t b = b0; b < b1; ++b) {
        sum += hist_[size_t(b)];
        nonzero += hist_[size_t(b)] != 0;
      }
      if (nonzero == 0) continue;
      for (int64_t b = b0; b < b1; ++b)
        if (hist_[size_t(b)] != 0) q[size_t(b)] = sum / double(nonzero);
    }
    double p_total = 0, q_total = 0;
    for (int64_t b = 0; b < i; ++b) {
      p_total += p[size_t(b)];
      q_total += q[size_t(b)];
    }
    if (p_total <= 0 || q_total <= 0) continue;
    double kl = 0;
    for (int64_t b = 0; b < i; ++b) {
      const double pb = p[size_t(b)] / p_total;
      if (pb == 0) continue;
      const double qb = q[size_t(b)] / q_total;
      kl += qb > 0 ? pb * std::log(pb / qb) : pb * 30.0;  // an empty Q bin where P has mass: a large penalty
    }
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return float((double(best_i) + 0.5) * hist_max_ / double(bins_));
}

std::pair<float, float> Observer::range() const {
  AM_CHECK(count_ > 0, ValueError, "observer (", observer_method_name(method_),
           "): no calibration data seen (the calibration set is empty)");
  switch (method_) {
    case ObserverMethod::MinMax: return {min_, max_};
    case ObserverMethod::Moving: return {float(avg_min_), float(avg_max_)};
    case ObserverMethod::Percentile:
    case ObserverMethod::Entropy: {
      const float t = method_ == ObserverMethod::Percentile ? percentile_threshold() : entropy_threshold();
      return {std::max(min_, -t), std::min(max_, t)};
    }
  }
  return {min_, max_};
}

QParams Observer::qparams(bool symmetric) const {
  auto [lo, hi] = range();
  return u8_qparams(lo, hi, symmetric);
}

}  // namespace aimass::quant
