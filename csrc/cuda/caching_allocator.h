// The CUDA caching allocator: cudaMalloc is slow and synchronises the device, so freed blocks
// are kept per device, keyed by size, and handed out again. Every kernel runs on the legacy
// default stream of its device, so a block reused by a later kernel is ordered after every
// earlier kernel that touched it: no events are needed.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace aimass::gpu {

class CachingAllocator {
 public:
  explicit CachingAllocator(int device_count);
  // Throws RuntimeError (size, device, its free/total memory) when the device is out of memory
  // even after the cache has been released.
  void* allocate(size_t nbytes, int device);
  // Returns the block to the cache; never calls CUDA, so it is safe from destructors at exit.
  void deallocate(void* ptr, int device);
  size_t allocated(int device);  // bytes in live blocks (rounded sizes)
  size_t reserved(int device);   // live + cached
  void empty_cache();

  // Requests up to kSmallLimit round up to kSmallRound, larger ones to kLargeRound.
  static constexpr size_t kSmallRound = 512, kSmallLimit = size_t(1) << 20, kLargeRound = size_t(2) << 20;
  static size_t round_size(size_t nbytes);

 private:
  struct DeviceCache {
    std::multimap<size_t, void*> free_blocks;  // size -> block, for best fit
    std::unordered_map<void*, size_t> live;    // block -> size
    size_t allocated = 0, cached = 0;
  };
  DeviceCache& cache(int device);
  void release_cached(int device);  // caller holds mutex_

  std::mutex mutex_;
  std::vector<DeviceCache> devices_;
};

}  // namespace aimass::gpu
