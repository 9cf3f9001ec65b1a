// Learning-rate schedules, PyTorch's torch.optim.lr_scheduler by name and meaning. Each
// scheduler writes the rate of every group of its optimizer; step() advances one epoch (or
// one batch for OneCycleLR). The constructor applies epoch 0, as PyTorch's does. The rates
// are the closed forms, from the base rates the groups had when the scheduler was made.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace aimass::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  virtual void step();
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  std::vector<double> last_lr() const;  // the rate of every group now
  const std::shared_ptr<Optimizer>& optimizer() const { return opt_; }
  // Resumes at `epoch` (a state_dict's last_epoch): the rates become those of that epoch.
  virtual void set_last_epoch(int64_t epoch);

 protected:
  explicit LRScheduler(std::shared_ptr<Optimizer> opt);
  virtual double lr_at(size_t group, int64_t epoch) const = 0;
  void apply();  // writes lr_at(g, last_epoch) into every group

  std::shared_ptr<Optimizer> opt_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = 0;
};

// base * gamma^floor(epoch / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(std::shared_ptr<Optimizer> opt, int64_t step_size, double gamma = 0.1);
 protected:
  double lr_at(size_t g, int64_t e) const override;
  int64_t step_size_;
  double gamma_;
};

// base * gamma^(number of milestones <= epoch)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(std::shared_ptr<Optimizer> opt, std::vector<int64_t> milestones, double gamma = 0.1);
 protected:
  double lr_at(size_t g, int64_t e) const override;
  std::vector<int64_t> milestones_;
  double gamma_;
};

// base * gamma^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(std::shared_ptr<Optimizer> opt, double gamma);
 protected:
  double lr_at(size_t g, int64_t e) const override;
  double gamma_;
};

// eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(std::shared_ptr<Optimizer> opt, int64_t T_max, double eta_min = 0);
 protected:
  double lr_at(size_t g, int64_t e) const override;
  int64_t T_max_;
  double eta_min_;
};

// SGDR: the cosine over T_cur / T_i, restarting when T_cur reaches T_i (T_i *= T_mult).
// step(epoch) may jump to a fractional epoch, as PyTorch's does.
class CosineAnnealingWarmRestarts : public LRScheduler {
 public:
  CosineAnnealingWarmRestarts(std::shared_ptr<Optimizer> opt, int64_t T_0, int64_t T_mult = 1, double eta_min = 0);
  void step() override;
  void step_to(double epoch);
  double T_cur() const { return T_cur_; }
  int64_t T_i() const { return T_i_; }
  void set_last_epoch(int64_t epoch) override;
 protected:
  double lr_at(size_t g, int64_t e) const override;
  int64_t T_0_, T_mult_, T_i_;
  double eta_min_, T_cur_ = 0;
};

// base * (start + (end - start) min(epoch, total_iters) / total_iters): linear warmup.
class LinearLR : public LRScheduler {
 public:
  LinearLR(std::shared_ptr<Optimizer> opt, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5);
 protected:
  double lr_at(size_t g, int64_t e) const override;
  double start_, end_;
  int64_t total_iters_;
};

// The one-cycle policy (Smith & Topin), stepped per batch: from max_lr / div_factor up to
// max_lr over pct_start of total_steps, then down to initial / final_div_factor (three_phase:
// back to initial first). With cycle_momentum, momentum (SGD) or beta1 (Adam, Lion) moves the
// other way between base_momentum and max_momentum.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(std::shared_ptr<Optimizer> opt, std::vector<double> max_lrs, int64_t total_steps, double pct_start = 0.3,
             const std::string& anneal_strategy = "cos", bool cycle_momentum = true, double base_momentum = 0.85,
             double max_momentum = 0.95, double div_factor = 25.0, double final_div_factor = 1e4,
             bool three_phase = false);
  void step() override;
  void set_last_epoch(int64_t epoch) override;
 protected:
  double lr_at(size_t g, int64_t e) const override;
  struct Phase { double end_step; int start, end; };  // start / end: 0 initial, 1 max, 2 min (lr); momentum mirrored
  double anneal(double from, double to, double pct) const;
  double value(int64_t e, const double (&points)[3]) const;
  void apply_momentum();
  std::vector<double> initial_lrs_, max_lrs_, min_lrs_;
  int64_t total_steps_;
  bool cos_, cycle_momentum_;
  double base_momentum_, max_momentum_;
  std::string momentum_key_;
  std::vector<Phase> phases_;
};

// Divides the rate by 1 / factor when a metric has not improved for `patience` epochs.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(std::shared_ptr<Optimizer> opt, const std::string& mode = "min", double factor = 0.1,
                    int64_t patience = 10, double threshold = 1e-4, const std::string& threshold_mode = "rel",
                    int64_t cooldown = 0, std::vector<double> min_lrs = {0.0}, double eps = 1e-8);
  void step(double metric);
  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t cooldown_counter() const { return cooldown_counter_; }
  int64_t last_epoch() const { return last_epoch_; }
  std::vector<double> last_lr() const;
  void set_state(double best, int64_t num_bad_epochs, int64_t cooldown_counter, int64_t last_epoch);
  const std::shared_ptr<Optimizer>& optimizer() const { return opt_; }

 private:
  bool is_better(double a) const;
  std::shared_ptr<Optimizer> opt_;
  bool min_mode_, rel_;
  double factor_, threshold_, eps_, best_;
  int64_t patience_, cooldown_, cooldown_counter_ = 0, num_bad_epochs_ = 0, last_epoch_ = 0;
  std::vector<double> min_lrs_;
};

}  // namespace aimass::optim
