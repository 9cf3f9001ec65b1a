#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/device_api.h"
#include "core/error.h"

namespace aimass {

namespace {
constexpr size_t kCpuAlignment = 64;
}

Storage allocate_storage(size_t nbytes, Device device) {
  if (device.is_cpu()) {
    size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    void* data = rounded ? std::aligned_alloc(kCpuAlignment, rounded) : nullptr;
    AM_CHECK(data || !rounded, RuntimeError, "out of CPU memory allocating ", nbytes, " bytes");
    return std::make_shared<StorageImpl>(data, nbytes, device, [](void* p) { std::free(p); });
  }
  check_device(device);
  DeviceApi& api = cuda_api();
  void* data = nbytes ? api.allocate(nbytes, device.index) : nullptr;
  int index = device.index;
  return std::make_shared<StorageImpl>(data, nbytes, device, [&api, index](void* p) {
    if (p) api.deallocate(p, index);
  });
}

Storage wrap_external_storage(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter) {
  return std::make_shared<StorageImpl>(data, nbytes, device, std::move(deleter));
}

}  // namespace aimass
