#include "optim/grad_scaler.h"

#include <cmath>

#include "autograd/node.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels/optim.h"

namespace aimass::optim {

GradScaler::GradScaler(double init_scale, double growth_factor, double backoff_factor, int64_t growth_interval,
                       bool enabled)
    : scale_(init_scale), growth_factor_(growth_factor), backoff_factor_(backoff_factor),
      growth_interval_(growth_interval), enabled_(enabled) {
  AM_CHECK(init_scale > 0 && std::isfinite(init_scale), ValueError, "GradScaler: init_scale must be finite and > 0, got ",
           init_scale);
  AM_CHECK(growth_factor > 1, ValueError, "GradScaler: growth_factor must be > 1, got ", growth_factor);
  AM_CHECK(backoff_factor > 0 && backoff_factor < 1, ValueError, "GradScaler: backoff_factor must be in (0, 1), got ",
           backoff_factor);
  AM_CHECK(growth_interval > 0, ValueError, "GradScaler: growth_interval must be > 0, got ", growth_interval);
}

void GradScaler::unscale_(Optimizer& opt) {
  if (!enabled_) return;
  PerOptimizer& st = per_optimizer_[&opt];
  AM_CHECK(!st.unscaled, RuntimeError, "GradScaler.unscale_: already called on this ", opt.name(),
           " since the last update()");
  AM_CHECK(!st.stepped, RuntimeError, "GradScaler.unscale_: called after step(); call update() first");
  const double inv = 1.0 / scale_;
  double sum_sq = 0;
  for (size_t g = 0; g < opt.num_groups(); ++g) {
    for (const Tensor& p : opt.params(g)) {
      if (!p.impl()->autograd || !p.impl()->autograd->grad.defined()) continue;
      Tensor& grad = p.impl()->autograd->grad;
      // A scaled 16-bit gradient divided in its own dtype would underflow again.
      if (grad.dtype() == DType::Float16 || grad.dtype() == DType::BFloat16) grad = to_dtype(grad, DType::Float32, true);
      else if (!grad.is_contiguous()) grad = contiguous(grad);
      sum_sq += grad_scale_kernel.on(grad.device())({grad}, inv);
      grad.storage()->version++;
    }
  }
  st.unscaled = true;
  st.found_inf = !std::isfinite(sum_sq);
}

bool GradScaler::step(Optimizer& opt) {
  if (!enabled_) {
    opt.step();
    return true;
  }
  PerOptimizer& st = per_optimizer_[&opt];
  AM_CHECK(!st.stepped, RuntimeError, "GradScaler.step: already called on this ", opt.name(),
           " since the last update()");
  if (!st.unscaled) unscale_(opt);
  PerOptimizer& after = per_optimizer_[&opt];
  after.stepped = true;
  if (after.found_inf) return false;
  opt.step();
  return true;
}

void GradScaler::update(std::optional<double> new_scale) {
  if (!enabled_) return;
  if (new_scale) {
    AM_CHECK(*new_scale > 0 && std::isfinite(*new_scale), ValueError, "GradScaler.update: new_scale must be finite and > 0, got ",
             *new_scale);
    scale_ = *new_scale;
  } else {
    AM_CHECK(!per_optimizer_.empty(), RuntimeError,
             "GradScaler.update: no inf checks were recorded prior to update (call step(optimizer) first)");
    bool found_inf = false;
    for (const auto& [opt, st] : per_optimizer_) found_inf = found_inf || st.found_inf;
    if (found_inf) {
      scale_ *= backoff_factor_;
      growth_tracker_ = 0;
    } else if (++growth_tracker_ == growth_interval_) {
      scale_ *= growth_factor_;
      growth_tracker_ = 0;
    }
  }
  per_optimizer_.clear();
}

void GradScaler::set_state(double scale, int64_t growth_tracker) {
  AM_CHECK(scale > 0 && std::isfinite(scale), ValueError, "GradScaler.load_state_dict: bad scale ", scale);
  AM_CHECK(growth_tracker >= 0, ValueError, "GradScaler.load_state_dict: bad growth tracker ", growth_tracker);
  scale_ = scale;
  growth_tracker_ = growth_tracker;
}

}  // namespace aimass::optim
