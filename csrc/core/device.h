// Where a tensor's memory lives: "cpu", "cuda" (the current CUDA device, 0) or "cuda:N".
// Device::parse is the one parser of device names: every API that takes a device by name
// (am.tensor(device=...), Tensor.to, Module.to, an index's .to, am.Device(...)) goes through it.
#pragma once
#include <string>

namespace aimass {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  Device() = default;
  Device(DeviceType t, int i = 0) : type(t), index(i) {}
  // "cpu", "cuda", "cuda:N", and "gpu" / "gpu:N" for the same CUDA devices; ValueError naming
  // the spec and the accepted forms otherwise.
  static Device parse(const std::string& spec);
  // Whether `spec` is meant as a device (a dtype otherwise, in x.to("...")): "cpu", "cuda", "gpu",
  // or "cuda:..." / "gpu:..." (which parse() may still refuse, naming the bad index).
  static bool names_a_device(const std::string& spec);
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  bool operator==(const Device& o) const { return type == o.type && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

}  // namespace aimass
