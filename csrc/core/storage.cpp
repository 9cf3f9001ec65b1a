#include "core/storage.h"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

#include "core/device_api.h"
#include "core/error.h"

namespace aimass {

namespace {

constexpr size_t kCpuAlignment = 64;
// Blocks this large are aligned to, and advised as, transparent huge pages: a fresh 64 MiB
// output then costs 32 page faults instead of 16384 (NumPy does the same).
constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kHugePageThreshold = size_t(4) << 20;

void* allocate_cpu(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  if (nbytes >= kHugePageThreshold) {
    size_t rounded = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
    void* data = std::aligned_alloc(kHugePage, rounded);
    if (data) madvise(data, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
    return data;
  }
  return std::aligned_alloc(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
}

}  // namespace

Storage allocate_storage(size_t nbytes, Device device) {
  if (device.is_cpu()) {
    void* data = allocate_cpu(nbytes);
    AM_CHECK(data || !nbytes, RuntimeError, "out of CPU memory allocating ", nbytes, " bytes");
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
