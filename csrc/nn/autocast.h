// Mixed precision: inside an autocast region, the layers that do the heavy math (Dense, Conv2D,
// the attention matmuls) run in float16 or bfloat16 (the kernels accumulate in float32), while
// the float32 parameters stay the master copy: the cast is part of the graph, so gradients
// reach the float32 weights in float32. Normalisation, softmax and the losses compute in
// float32 whatever their input. The state is per thread, as PyTorch's.
#pragma once
#include "core/device.h"
#include "core/dtype.h"
#include "core/tensor.h"

namespace aimass::nn {

struct AutocastState {
  bool enabled = false;
  DeviceType device_type = DeviceType::CUDA;
  DType dtype = DType::BFloat16;
};

AutocastState autocast_state();
// ValueError unless state.dtype is float16 or bfloat16.
void set_autocast_state(const AutocastState& state);
// autocast("cuda") / autocast("cpu"): ValueError naming device_type for any other name.
DeviceType parse_autocast_device_type(const std::string& device_type);
// The dtype autocast uses when none is given: float16 on CUDA, bfloat16 on the CPU.
DType default_autocast_dtype(DeviceType device_type);

// Sets the state for its lifetime, restoring the previous one after.
class AutocastGuard {
 public:
  explicit AutocastGuard(const AutocastState& state) : previous_(autocast_state()) { set_autocast_state(state); }
  ~AutocastGuard() { set_autocast_state(previous_); }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  AutocastState previous_;
};

// x in the autocast dtype when autocast is on for x's device type and x is float32 (a
// differentiable cast); x itself otherwise.
Tensor autocast_lower(const Tensor& x);
// x in float32 when autocast is on and x is a 16-bit float; x itself otherwise.
Tensor autocast_widen(const Tensor& x);

}  // namespace aimass::nn
