// Dynamic loss scaling for float16 training, as torch.cuda.amp.GradScaler: the loss is
// multiplied by scale() before backward so small gradients survive float16; unscale_ divides
// an optimizer's gradients by it and notes whether any is inf / NaN; step skips the update
// when one is; update() halves the scale after such a step and doubles it after
// growth_interval clean ones.
#pragma once
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "optim/optimizer.h"

namespace aimass::optim {

class GradScaler {
 public:
  explicit GradScaler(double init_scale = 65536.0, double growth_factor = 2.0, double backoff_factor = 0.5,
                      int64_t growth_interval = 2000, bool enabled = true);

  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  // Divides every gradient of opt by the scale, once between updates (RuntimeError on a
  // second call). 16-bit gradients are replaced by float32 ones, so unscaling loses nothing.
  void unscale_(Optimizer& opt);
  // Unscales if not yet done, then steps unless a gradient was inf / NaN; true when it stepped.
  bool step(Optimizer& opt);
  // The new scale from this iteration's steps (or new_scale as given); forgets them.
  void update(std::optional<double> new_scale = std::nullopt);

  double growth_factor() const { return growth_factor_; }
  double backoff_factor() const { return backoff_factor_; }
  int64_t growth_interval() const { return growth_interval_; }
  int64_t growth_tracker() const { return growth_tracker_; }
  // load_state_dict
  void set_state(double scale, int64_t growth_tracker);

 private:
  struct PerOptimizer {
    bool unscaled = false, stepped = false, found_inf = false;
  };
  double scale_, growth_factor_, backoff_factor_;
  int64_t growth_interval_, growth_tracker_ = 0;
  bool enabled_;
  std::unordered_map<const Optimizer*, PerOptimizer> per_optimizer_;
};

}  // namespace aimass::optim
