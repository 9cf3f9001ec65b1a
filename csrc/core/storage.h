// Reference-counted memory: one block on one device, freed by its deleter when the last
// tensor viewing it goes. External memory (a NumPy array, a DLPack capsule) is wrapped with
// a deleter that releases the owner, which is how from_numpy / from_dlpack stay zero-copy.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/device.h"

namespace aimass {

struct StorageImpl {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  std::function<void(void*)> deleter;
  // Bumped by every in-place write through any view of this memory; autograd compares it
  // with the value it saw when it saved a tensor for backward.
  std::atomic<uint64_t> version{0};

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
