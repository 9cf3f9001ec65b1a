#include "cuda/caching_allocator.h"

#include <algorithm>
#include <cstdio>

#include "cuda/cuda_check.h"

namespace aimass::gpu {

CachingAllocator::CachingAllocator(int device_count) : devices_(size_t(device_count)) {}

size_t CachingAllocator::round_size(size_t nbytes) {
  size_t unit = nbytes <= kSmallLimit ? kSmallRound : kLargeRound;
  return (std::max<size_t>(nbytes, 1) + unit - 1) / unit * unit;
}

CachingAllocator::DeviceCache& CachingAllocator::cache(int device) {
  AM_CHECK(device >= 0 && size_t(device) < devices_.size(), RuntimeError, "cuda allocator: no CUDA device ",
           device, " (", devices_.size(), " present)");
  return devices_[size_t(device)];
}

void* CachingAllocator::allocate(size_t nbytes, int device) {
  size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceCache& c = cache(device);
  // Best fit, but never a block more than twice the request: a small tensor must not pin a
  // large block that a later large request could have reused.
  auto it = c.free_blocks.lower_bound(size);
  if (it != c.free_blocks.end() && it->first <= 2 * size) {
    void* ptr = it->second;
    size_t block = it->first;
    c.free_blocks.erase(it);
    c.cached -= block;
    c.live.emplace(ptr, block);
    c.allocated += block;
    return ptr;
  }
  DeviceGuard guard(device, "allocate");
  void* ptr = nullptr;
  cudaError_t err = cudaMalloc(&ptr, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // out of memory is not sticky: clear it, release the cache, retry once
    release_cached(device);
    err = cudaMalloc(&ptr, size);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    cudaGetLastError();
    throw MemoryError(str_cat("CUDA out of memory: tried to allocate ", nbytes, " bytes on cuda:", device,
                               " (", free_bytes, " of ", total_bytes, " bytes free; aimass holds ", c.allocated,
                               " bytes in tensors and ", c.cached, " cached)"));
  }
  AM_CUDA_CHECK(err, "allocate");
  c.live.emplace(ptr, size);
  c.allocated += size;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, int device) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device < 0 || size_t(device) >= devices_.size()) return;
  DeviceCache& c = devices_[size_t(device)];
  auto it = c.live.find(ptr);
  if (it == c.live.end()) {
    // Called from a storage's deleter: throwing would terminate the process.
    std::fprintf(stderr, "aimass: cuda allocator asked to free %p on cuda:%d, which it did not allocate\n", ptr,
                 device);
    return;
  }
  size_t size = it->second;
  c.live.erase(it);
  c.allocated -= size;
  c.free_blocks.emplace(size, ptr);
  c.cached += size;
}

size_t CachingAllocator::allocated(int device) {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache(device).allocated;
}

size_t CachingAllocator::reserved(int device) {
  std::lock_guard<std::mutex> lock(mutex_);
  DeviceCache& c = cache(device);
  return c.allocated + c.cached;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t d = 0; d < devices_.size(); ++d) release_cached(int(d));
}

void CachingAllocator::release_cached(int device) {
  DeviceCache& c = devices_[size_t(device)];
  if (c.free_blocks.empty()) return;
  DeviceGuard guard(device, "empty_cache");
  while (!c.free_blocks.empty()) {
    auto [size, ptr] = *c.free_blocks.begin();
    c.free_blocks.erase(c.free_blocks.begin());
    c.cached -= size;
    AM_CUDA_CHECK(cudaFree(ptr), "empty_cache");
  }
}

}  // namespace aimass::gpu
