// Reference-counted memory: one block on one device, freed by its deleter when the last
// tensor viewing it goes. External memory (a NumPy array, a DLPack capsule) is wrapped with
// a deleter that releases the owner, which is how from_numpy / from_dlpack stay zero-copy.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

#include "core/device.h"

namespace aimass {

struct StorageImpl {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::function<void(void*)> deleter;

  StorageImpl(void* d, size_t n, Device dev, std::function<void(void*)> del)
      : data(d), nbytes(n), device(dev), deleter(std::move(del)) {}
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;
  ~StorageImpl() {
    if (deleter) deleter(data);
  }
};
using Storage = std::shared_ptr<StorageImpl>;

// CPU blocks are 64-byte aligned (a cache line, one AVX-512 register); CUDA blocks come from
// the backend's caching allocator. nbytes == 0 gives a valid storage with no memory.
Storage allocate_storage(size_t nbytes, Device device);
Storage wrap_external_storage(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter);

}  // namespace aimass
