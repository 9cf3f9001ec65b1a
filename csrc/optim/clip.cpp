// Gradient clipping: the global norm is one grad_scale pass reading every gradient (scale 1),
// and the clipping a second pass scaling them, per device.
#include <cmath>

#include "autograd/node.h"
#include "ops/convert.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/optim.h"
#include "optim/optimizer.h"

namespace aimass::optim {

namespace {

// The defined gradients of params, made contiguous in place (the kernels want that), per device.
std::vector<std::pair<Device, std::vector<Tensor>>> grads_by_device(const std::vector<Tensor>& params) {
  std::vector<std::pair<Device, std::vector<Tensor>>> out;
  for (const Tensor& p : params) {
    if (!p.defined() || !p.impl()->autograd || !p.impl()->autograd->grad.defined()) continue;
    Tensor& g = p.impl()->autograd->grad;
    if (!g.is_contiguous()) g = contiguous(g);
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) { return e.first == g.device(); });
    if (it == out.end()) {
      out.emplace_back(g.device(), std::vector<Tensor>{});
      it = out.end() - 1;
    }
    it->second.push_back(g);
  }
  return out;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  AM_CHECK(max_norm >= 0, ValueError, "clip_grad_norm_: max_norm must be >= 0, got ", max_norm);
  auto lists = grads_by_device(params);
  double sum_sq = 0;
  for (const auto& [device, grads] : lists) sum_sq += grad_scale_kernel.on(device)(grads, 1.0);
  const double norm = std::sqrt(sum_sq);
  // As PyTorch: max_norm / (norm + 1e-6), never above 1; a non-finite norm spreads to the grads.
  const double coef = max_norm / (norm + 1e-6);
  if (!(coef >= 1)) {
    for (const auto& [device, grads] : lists) {
      grad_scale_kernel.on(device)(grads, coef);
      for (const Tensor& g : grads) g.storage()->version++;
    }
  }
  return norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  AM_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  for (const auto& [device, grads] : grads_by_device(params)) {
    for (const Tensor& g : grads) {
      clamp_kernel.on(device)(g, Scalar::from_float(-clip_value), Scalar::from_float(clip_value), g);
      g.storage()->version++;
    }
  }
}

}  // namespace aimass::optim
