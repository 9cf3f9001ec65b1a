#include "core/device.h"

#include <cstdlib>

#include "core/error.h"

namespace aimass {

Device Device::parse(const std::string& spec) {
  if (spec == "cpu") return Device(DeviceType::CPU);
  if (spec == "cuda" || spec == "gpu") return Device(DeviceType::CUDA, 0);
  if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5) {
    char* end = nullptr;
    long index = std::strtol(spec.c_str() + 5, &end, 10);
    if (*end == '\0' && index >= 0 && index < 1024) return Device(DeviceType::CUDA, int(index));
  }
  throw ValueError(str_cat("unknown device '", spec, "'; expected 'cpu', 'cuda' or 'cuda:N'"));
}

}  // namespace aimass
