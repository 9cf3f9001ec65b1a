#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace aimass::optim {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::shared_ptr<Optimizer> checked(std::shared_ptr<Optimizer> opt, const char* name) {
  AM_CHECK(opt != nullptr, TypeError, name, ": needs an optimizer");
  return opt;
}

}  // namespace

// ---------------------------------------------------------------- LRScheduler

LRScheduler::LRScheduler(std::shared_ptr<Optimizer> opt) : opt_(std::move(opt)) {
  AM_CHECK(opt_ != nullptr, TypeError, "LRScheduler: needs an optimizer");
  for (size_t g = 0; g < opt_->num_groups(); ++g) base_lrs_.push_back(opt_->lr(g));
}

void LRScheduler::apply() {
  for (size_t g = 0; g < opt_->num_groups() && g < base_lrs_.size(); ++g)
    opt_->set_lr(std::max(0.0, lr_at(g, last_epoch_)), int64_t(g));
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

void LRScheduler::set_last_epoch(int64_t epoch) {
  AM_CHECK(epoch >= 0, ValueError, "LRScheduler: last_epoch must be >= 0, got ", epoch);
  last_epoch_ = epoch;
  apply();
}

std::vector<double> LRScheduler::last_lr() const {
  std::vector<double> out;
  for (size_t g = 0; g < opt_->num_groups(); ++g) out.push_back(opt_->lr(g));
  return out;
}

// ---------------------------------------------------------------- closed forms

StepLR::StepLR(std::shared_ptr<Optimizer> opt, int64_t step_size, double gamma)
    : LRScheduler(checked(std::move(opt), "StepLR")), step_size_(step_size), gamma_(gamma) {
  AM_CHECK(step_size > 0, ValueError, "StepLR: step_size must be > 0, got ", step_size);
  apply();
}
double StepLR::lr_at(size_t g, int64_t e) const { return base_lrs_[g] * std::pow(gamma_, double(e / step_size_)); }

MultiStepLR::MultiStepLR(std::shared_ptr<Optimizer> opt, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(checked(std::move(opt), "MultiStepLR")), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());  // a repeated milestone counts twice, as in PyTorch
  apply();
}
double MultiStepLR::lr_at(size_t g, int64_t e) const {
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), e) - milestones_.begin();
  return base_lrs_[g] * std::pow(gamma_, double(passed));
}

ExponentialLR::ExponentialLR(std::shared_ptr<Optimizer> opt, double gamma)
    : LRScheduler(checked(std::move(opt), "ExponentialLR")), gamma_(gamma) {
  apply();
}
double ExponentialLR::lr_at(size_t g, int64_t e) const { return base_lrs_[g] * std::pow(gamma_, double(e)); }

CosineAnnealingLR::CosineAnnealingLR(std::shared_ptr<Optimizer> opt, int64_t T_max, double eta_min)
    : LRScheduler(checked(std::move(opt), "CosineAnnealingLR")), T_max_(T_max), eta_min_(eta_min) {
  AM_CHECK(T_max > 0, ValueError, "CosineAnnealingLR: T_max must be > 0, got ", T_max);
  apply();
}
double CosineAnnealingLR::lr_at(size_t g, int64_t e) const {
  return eta_min_ + (base_lrs_[g] - eta_min_) * (1 + std::cos(kPi * double(e) / double(T_max_))) / 2;
}

LinearLR::LinearLR(std::shared_ptr<Optimizer> opt, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(checked(std::move(opt), "LinearLR")), start_(start_factor), end_(end_factor),
      total_iters_(total_iters) {
  AM_CHECK(start_factor > 0 && start_factor <= 1, ValueError,
           "LinearLR: start_factor must be in (0, 1], got ", start_factor);
  AM_CHECK(end_factor >= 0 && end_factor <= 1, ValueError, "LinearLR: end_factor must be in [0, 1], got ", end_factor);
  AM_CHECK(total_iters > 0, ValueError, "LinearLR: total_iters must be > 0, got ", total_iters);
  apply();
}
double LinearLR::lr_at(size_t g, int64_t e) const {
  return base_lrs_[g] * (start_ + (end_ - start_) * double(std::min(e, total_iters_)) / double(total_iters_));
}

// ---------------------------------------------------------------- warm restarts

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(std::shared_ptr<Optimizer> opt, int64_t T_0, int64_t T_mult,
                                                         double eta_min)
    : LRScheduler(checked(std::move(opt), "CosineAnnealingWarmRestarts")), T_0_(T_0), T_mult_(T_mult), T_i_(T_0),
      eta_min_(eta_min) {
  AM_CHECK(T_0 > 0, ValueError, "CosineAnnealingWarmRestarts: T_0 must be a positive integer, got ", T_0);
  AM_CHECK(T_mult >= 1, ValueError, "CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got ", T_mult);
  apply();
}

double CosineAnnealingWarmRestarts::lr_at(size_t g, int64_t) const {
  return eta_min_ + (base_lrs_[g] - eta_min_) * (1 + std::cos(kPi * T_cur_ / double(T_i_))) / 2;
}

void CosineAnnealingWarmRestarts::step() {
  ++last_epoch_;
  T_cur_ += 1;
  if (T_cur_ >= double(T_i_)) {
    T_cur_ -= double(T_i_);
    T_i_ *= T_mult_;
  }
  apply();
}

void CosineAnnealingWarmRestarts::step_to(double epoch) {
  AM_CHECK(epoch >= 0, ValueError, "CosineAnnealingWarmRestarts: expected a non-negative epoch, got ", epoch);
  if (epoch >= double(T_0_)) {
    if (T_mult_ == 1) {
      T_cur_ = std::fmod(epoch, double(T_0_));
    } else {
      const double m = double(T_mult_);
      const int64_t n = int64_t(std::log(epoch / double(T_0_) * (m - 1) + 1) / std::log(m));
      T_cur_ = epoch - double(T_0_) * (std::pow(m, double(n)) - 1) / (m - 1);
      T_i_ = int64_t(double(T_0_) * std::pow(m, double(n)));
    }
  } else {
    T_i_ = T_0_;
    T_cur_ = epoch;
  }
  last_epoch_ = int64_t(std::floor(epoch));
  apply();
}

void CosineAnnealingWarmRestarts::set_last_epoch(int64_t epoch) { step_to(double(epoch)); }

// ---------------------------------------------------------------- one cycle

OneCycleLR::OneCycleLR(std::shared_ptr<Optimizer> opt, std::vector<double> max_lrs, int64_t total_steps,
                       double pct_start, const std::string& anneal_strategy, bool cycle_momentum,
                       double base_momentum, double max_momentum, double div_factor, double final_div_factor,
                       bool three_phase)
    : LRScheduler(checked(std::move(opt), "OneCycleLR")), total_steps_(total_steps),
      cos_(anneal_strategy == "cos"), cycle_momentum_(cycle_momentum), base_momentum_(base_momentum),
      max_momentum_(max_momentum) {
  const size_t G = opt_->num_groups();
  AM_CHECK(total_steps > 0, ValueError, "OneCycleLR: total_steps must be > 0, got ", total_steps);
  AM_CHECK(pct_start >= 0 && pct_start <= 1, ValueError, "OneCycleLR: pct_start must be in [0, 1], got ", pct_start);
  AM_CHECK(anneal_strategy == "cos" || anneal_strategy == "linear", ValueError,
           "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got '", anneal_strategy, "'");
  AM_CHECK(max_lrs.size() == 1 || max_lrs.size() == G, ValueError, "OneCycleLR: expected 1 or ", G,
           " max_lr values (one per group), got ", max_lrs.size());
  for (size_t g = 0; g < G; ++g) {
    const double max_lr = max_lrs.size() == 1 ? max_lrs[0] : max_lrs[g];
    max_lrs_.push_back(max_lr);
    initial_lrs_.push_back(max_lr / div_factor);
    min_lrs_.push_back(initial_lrs_.back() / final_div_factor);
  }
  base_lrs_ = initial_lrs_;
  const double T = double(total_steps);
  // lr points: 0 initial, 1 max, 2 min; momentum moves max -> base while lr rises, and back.
  if (three_phase)
    phases_ = {{pct_start * T - 1, 0, 1}, {2 * pct_start * T - 2, 1, 0}, {T - 1, 0, 2}};
  else
    phases_ = {{pct_start * T - 1, 0, 1}, {T - 1, 1, 2}};
  if (cycle_momentum_) {
    const auto& names = opt_->option_names();
    auto has = [&](const char* k) { return std::find(names.begin(), names.end(), k) != names.end(); };
    AM_CHECK(has("momentum") || has("beta1"), ValueError, "OneCycleLR: cycle_momentum needs an optimizer with "
             "momentum or betas, and ", opt_->name(), " has neither; pass cycle_momentum=False");
    momentum_key_ = has("beta1") ? "beta1" : "momentum";
  }
  apply();
  apply_momentum();
}

double OneCycleLR::anneal(double from, double to, double pct) const {
  return cos_ ? to + (from - to) / 2 * (std::cos(kPi * pct) + 1) : (to - from) * pct + from;
}

// Where epoch e falls among the phases, on the curve through points[phase.start -> phase.end].
double OneCycleLR::value(int64_t e, const double (&points)[3]) const {
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (double(e) <= ph.end_step || i + 1 == phases_.size()) {
      const double pct = (double(e) - start_step) / (ph.end_step - start_step);
      return anneal(points[ph.start], points[ph.end], pct);
    }
    start_step = ph.end_step;
  }
  return points[0];
}

double OneCycleLR::lr_at(size_t g, int64_t e) const {
  const double points[3] = {initial_lrs_[g], max_lrs_[g], min_lrs_[g]};
  return value(e, points);
}

void OneCycleLR::apply_momentum() {
  if (!cycle_momentum_) return;
  // Momentum mirrors the rate: max where the rate is initial or min, base where it peaks.
  const double points[3] = {max_momentum_, base_momentum_, max_momentum_};
  const double m = value(last_epoch_, points);
  for (size_t g = 0; g < opt_->num_groups(); ++g) opt_->set_option(g, momentum_key_, m);
}

void OneCycleLR::step() {
  AM_CHECK(last_epoch_ + 1 < total_steps_, ValueError, "OneCycleLR: tried to step ", last_epoch_ + 2,
           " times, but total_steps is ", total_steps_);
  ++last_epoch_;
  apply();
  apply_momentum();
}

void OneCycleLR::set_last_epoch(int64_t epoch) {
  LRScheduler::set_last_epoch(epoch);
  apply_momentum();
}

// ---------------------------------------------------------------- plateau

ReduceLROnPlateau::ReduceLROnPlateau(std::shared_ptr<Optimizer> opt, const std::string& mode, double factor,
                                     int64_t patience, double threshold, const std::string& threshold_mode,
                                     int64_t cooldown, std::vector<double> min_lrs, double eps)
    : opt_(checked(std::move(opt), "ReduceLROnPlateau")), min_mode_(mode == "min"), rel_(threshold_mode == "rel"),
      factor_(factor), threshold_(threshold), eps_(eps), patience_(patience), cooldown_(cooldown) {
  AM_CHECK(mode == "min" || mode == "max", ValueError, "ReduceLROnPlateau: mode must be 'min' or 'max', got '", mode, "'");
  AM_CHECK(threshold_mode == "rel" || threshold_mode == "abs", ValueError,
           "ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got '", threshold_mode, "'");
  AM_CHECK(factor < 1 && factor >= 0, ValueError, "ReduceLROnPlateau: factor must be in [0, 1), got ", factor);
  AM_CHECK(patience >= 0 && cooldown >= 0, ValueError, "ReduceLROnPlateau: patience and cooldown must be >= 0");
  const size_t G = opt_->num_groups();
  AM_CHECK(min_lrs.size() == 1 || min_lrs.size() == G, ValueError, "ReduceLROnPlateau: expected 1 or ", G,
           " min_lr values (one per group), got ", min_lrs.size());
  for (size_t g = 0; g < G; ++g) min_lrs_.push_back(min_lrs.size() == 1 ? min_lrs[0] : min_lrs[g]);
  best_ = min_mode_ ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
  if (min_mode_) return rel_ ? a < best_ * (1 - threshold_) : a < best_ - threshold_;
  return rel_ ? a > best_ * (threshold_ + 1) : a > best_ + threshold_;
}

void ReduceLROnPlateau::step(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    for (size_t g = 0; g < opt_->num_groups(); ++g) {
      const double old_lr = opt_->lr(g);
      const double new_lr = std::max(old_lr * factor_, min_lrs_[g]);
      if (old_lr - new_lr > eps_) opt_->set_lr(new_lr, int64_t(g));
    }
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
}

std::vector<double> ReduceLROnPlateau::last_lr() const {
  std::vector<double> out;
  for (size_t g = 0; g < opt_->num_groups(); ++g) out.push_back(opt_->lr(g));
  return out;
}

void ReduceLROnPlateau::set_state(double best, int64_t num_bad_epochs, int64_t cooldown_counter, int64_t last_epoch) {
  best_ = best;
  num_bad_epochs_ = num_bad_epochs;
  cooldown_counter_ = cooldown_counter;
  last_epoch_ = last_epoch;
}

}  // namespace aimass::optim
