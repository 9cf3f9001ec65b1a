#include "core/storage.h"

#include <pthread.h>
#include <sys/mman.h>

#include <cstdlib>
#include <limits>
#include <list>
#include <mutex>
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
// Bytes of freed large blocks kept for reuse unless AIMASS_CPU_CACHE_MB says otherwise (0: none).
constexpr size_t kDefaultCacheBytes = size_t(1) << 30;

// Freed blocks of >= 4 MiB, kept for the next allocation of (nearly) the same size. A training
// step frees what the next one allocates again, and the kernel zeroes every page it hands out
// afresh: without the cache a LayerNorm step over 8192 x 768 floats spent more time clearing
// pages than normalising. Beyond the byte limit the oldest blocks go back to the system.
class LargeBlockCache {
 public:
  LargeBlockCache() {
    const char* env = std::getenv("AIMASS_CPU_CACHE_MB");
    limit_ = env ? size_t(std::strtoull(env, nullptr, 10)) << 20 : kDefaultCacheBytes;
  }
  // A cached block of `bytes` to `bytes` + 1/8 (its size into *got), or null.
  void* take(size_t bytes, size_t* got) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto best = blocks_.end();
    for (auto it = blocks_.begin(); it != blocks_.end(); ++it)
      if (it->size >= bytes && it->size <= bytes + bytes / 8 && (best == blocks_.end() || it->size < best->size))
        best = it;
    if (best == blocks_.end()) return nullptr;
    void* data = best->data;
    *got = best->size;
    cached_ -= best->size;
    blocks_.erase(best);
    return data;
  }
  void give(void* data, size_t size) {
    if (size > limit_) {
      std::free(data);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    while (cached_ + size > limit_) {
      std::free(blocks_.front().data);
      cached_ -= blocks_.front().size;
      blocks_.pop_front();
    }
    blocks_.push_back({data, size});
    cached_ += size;
  }
  // In a forked child the mutex may be held by a thread that does not exist there.
  void reset_lock_after_fork() { new (&mutex_) std::mutex(); }

 private:
  struct Block {
    void* data;
    size_t size;
  };
  std::mutex mutex_;
  std::list<Block> blocks_;  // oldest first
  size_t cached_ = 0, limit_;
};

// Never destroyed: storages may still be freed while static objects are torn down at exit.
LargeBlockCache& large_blocks() {
  static LargeBlockCache* cache = [] {
    auto* c = new LargeBlockCache();
    pthread_atfork(nullptr, nullptr, [] { large_blocks().reset_lock_after_fork(); });
    return c;
  }();
  return *cache;
}

// A CPU block of at least nbytes; *block_size receives its size for free_cpu.
void* allocate_cpu(size_t nbytes, size_t* block_size) {
  *block_size = 0;
  if (nbytes == 0) return nullptr;
  if (nbytes > std::numeric_limits<size_t>::max() / 2) return nullptr;  // rounding up below must not wrap
  if (nbytes >= kHugePageThreshold) {
    size_t rounded = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
    if (void* cached = large_blocks().take(rounded, block_size)) return cached;
    void* data = std::aligned_alloc(kHugePage, rounded);
    if (data) madvise(data, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
    *block_size = rounded;
    return data;
  }
  return std::aligned_alloc(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
}

void free_cpu(void* data, size_t block_size) {
  if (data && block_size >= kHugePageThreshold) large_blocks().give(data, block_size);
  else std::free(data);
}

}  // namespace

Storage allocate_storage(size_t nbytes, Device device) {
  if (device.is_cpu()) {
    size_t block_size;
    void* data = allocate_cpu(nbytes, &block_size);
    AM_CHECK(data || !nbytes, MemoryError, "out of CPU memory allocating ", nbytes, " bytes");
    return std::make_shared<StorageImpl>(data, nbytes, device, [block_size](void* p) { free_cpu(p, block_size); });
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
