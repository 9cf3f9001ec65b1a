#include "nn/autocast.h"

#include "autograd/functions.h"

namespace aimass::nn {

namespace {
thread_local AutocastState current;
}

AutocastState autocast_state() { return current; }
void set_autocast_state(const AutocastState& state) { current = state; }

Tensor autocast_lower(const Tensor& x) {
  if (!current.enabled || !x.defined() || x.dtype() != DType::Float32 || x.device().type != current.device_type) return x;
  return autograd::to_dtype(x, current.dtype);
}

Tensor autocast_widen(const Tensor& x) {
  if (!current.enabled || !x.defined() || (x.dtype() != DType::Float16 && x.dtype() != DType::BFloat16)) return x;
  return autograd::to_dtype(x, DType::Float32);
}

}  // namespace aimass::nn
