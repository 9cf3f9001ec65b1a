#include "core/device.h"

#include <cstdlib>

#include "core/error.h"

namespace aimass {

namespace {
constexpr const char* kAccepted = "expected 'cpu', 'cuda', 'cuda:N', 'gpu' or 'gpu:N' (N a device index)";

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

Device Device::parse(const std::string& spec) {
  if (spec == "cpu") return Device(DeviceType::CPU);
  if (spec == "cuda" || spec == "gpu") return Device(DeviceType::CUDA, 0);
  size_t digits = starts_with(spec, "cuda:") ? 5 : starts_with(spec, "gpu:") ? 4 : 0;
  if (digits && spec.size() > digits && spec.find_first_not_of("0123456789", digits) == std::string::npos &&
      spec.size() - digits <= 4) {
    long index = std::strtol(spec.c_str() + digits, nullptr, 10);
    if (index < 1024) return Device(DeviceType::CUDA, int(index));
  }
  throw ValueError(str_cat("unknown device '", spec, "'; ", kAccepted));
}

bool Device::names_a_device(const std::string& spec) {
  return spec == "cpu" || spec == "cuda" || spec == "gpu" || starts_with(spec, "cuda:") || starts_with(spec, "gpu:");
}

}  // namespace aimass
