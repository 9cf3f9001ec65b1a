// What the core needs from an accelerator backend. The CUDA backend (libaimass_cuda.so)
// implements it; the core loads that library the first time a CUDA device is asked for, so
// a machine with no GPU and no CUDA libraries never touches it.
#pragma once
#include <cstddef>
#include <string>

#include "core/device.h"

namespace aimass {

class DeviceApi {
 public:
  virtual ~DeviceApi() = default;
  virtual int device_count() = 0;
  // Memory from the caching allocator; free returns the block to the cache.
  virtual void* allocate(size_t nbytes, int device) = 0;
  virtual void deallocate(void* ptr, int device) = 0;
  // Copies between host and device or device and device; returns once the data is usable
  // by the host (a device-to-host copy is complete on return).
  virtual void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) = 0;
  virtual void synchronize(int device) = 0;
  virtual size_t memory_allocated(int device) = 0;  // bytes held by live tensors
  virtual size_t memory_reserved(int device) = 0;   // bytes held from the driver, cache included
  virtual void empty_cache() = 0;                   // release cached blocks to the driver
  virtual std::string device_name(int device) = 0;
  virtual int runtime_version() = 0;  // e.g. 13000
  virtual int driver_version() = 0;
  virtual int cudnn_version() = 0;
  virtual int cublas_version() = 0;
};

// The CUDA backend, loaded on first use. Throws RuntimeError saying why it is unavailable:
// built without CUDA, libaimass_cuda.so or a CUDA library missing, no driver, no device.
DeviceApi& cuda_api();
bool cuda_is_available() noexcept;
std::string cuda_unavailable_reason();  // "" when available
// Throws RuntimeError unless `device` is CPU or an existing CUDA device.
void check_device(Device device);

}  // namespace aimass
