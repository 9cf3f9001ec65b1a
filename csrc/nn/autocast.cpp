#include "nn/autocast.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace aimass::nn {

namespace {
thread_local AutocastState current;
}

AutocastState autocast_state() { return current; }
void set_autocast_state(const AutocastState& state) {
  AM_CHECK(state.dtype == DType::Float16 || state.dtype == DType::BFloat16, ValueError,
           "autocast: dtype must be float16 or bfloat16, got ", dtype_name(state.dtype));
  current = state;
}

DeviceType parse_autocast_device_type(const std::string& device_type) {
  AM_CHECK(device_type == "cuda" || device_type == "cpu", ValueError,
           "autocast: device_type must be 'cuda' or 'cpu', got '", device_type, "'");
  return Device::parse(device_type).type;
}

DType default_autocast_dtype(DeviceType device_type) {
  return device_type == DeviceType::CPU ? DType::BFloat16 : DType::Float16;
}

Tensor autocast_lower(const Tensor& x) {
  if (!current.enabled || !x.defined() || x.dtype() != DType::Float32 || x.device().type != current.device_type) return x;
  return autograd::to_dtype(x, current.dtype);
}

Tensor autocast_widen(const Tensor& x) {
  if (!current.enabled || !x.defined() || (x.dtype() != DType::Float16 && x.dtype() != DType::BFloat16)) return x;
  return autograd::to_dtype(x, DType::Float32);
}

}  // namespace aimass::nn
