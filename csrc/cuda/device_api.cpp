// The DeviceApi the core loads from libaimass_cuda.so (core/cuda_loader.cpp), and its entry
// point aimass_cuda_backend. Transfers and kernels use the legacy default stream of the device.
#include <cublas_v2.h>
#include <cudnn.h>

#include <cstring>
#include <string>

#include "core/device_api.h"
#include "cuda/caching_allocator.h"
#include "cuda/cuda_check.h"

namespace aimass::gpu {

namespace {

class CudaDeviceApi final : public DeviceApi {
 public:
  explicit CudaDeviceApi(int count) : count_(count), allocator_(count) {}

  int device_count() override { return count_; }

  void* allocate(size_t nbytes, int device) override { return allocator_.allocate(nbytes, device); }
  void deallocate(void* ptr, int device) override { allocator_.deallocate(ptr, device); }

  void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) override {
    if (nbytes == 0) return;
    if (dst_device.is_cpu() && src_device.is_cpu()) {
      std::memcpy(dst, src, nbytes);
    } else if (dst_device.is_cuda() && src_device.is_cuda() && dst_device.index == src_device.index) {
      // Queued on the legacy stream: ordered with every kernel before and after it.
      DeviceGuard guard(dst_device.index, "copy");
      AM_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, 0), "copy");
    } else if (dst_device.is_cuda() && src_device.is_cuda()) {
      // Serialised with all work on both devices' legacy streams.
      DeviceGuard guard(dst_device.index, "copy");
      AM_CUDA_CHECK(cudaMemcpyPeer(dst, dst_device.index, src, src_device.index, nbytes), "copy");
    } else {
      // cudaMemcpy waits for the device's pending kernels; a device-to-host copy is complete on
      // return, a host-to-device one has at least read the host buffer.
      bool to_device = dst_device.is_cuda();
      DeviceGuard guard(to_device ? dst_device.index : src_device.index, "copy");
      AM_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost),
                    "copy");
    }
  }

  void synchronize(int device) override {
    DeviceGuard guard(device, "synchronize");
    AM_CUDA_CHECK(cudaDeviceSynchronize(), "synchronize");
  }

  size_t memory_allocated(int device) override { return allocator_.allocated(device); }
  size_t memory_reserved(int device) override { return allocator_.reserved(device); }
  void empty_cache() override { allocator_.empty_cache(); }

  std::string device_name(int device) override {
    cudaDeviceProp prop{};
    AM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device), "device_name");
    return prop.name;
  }

  int runtime_version() override {
    int v = 0;
    AM_CUDA_CHECK(cudaRuntimeGetVersion(&v), "runtime_version");
    return v;
  }
  int driver_version() override {
    int v = 0;
    AM_CUDA_CHECK(cudaDriverGetVersion(&v), "driver_version");
    return v;
  }
  int cudnn_version() override { return int(cudnnGetVersion()); }
  // As CUBLAS_VERSION spells it: major * 10000 + minor * 100 + patch.
  int cublas_version() override {
    int major = 0, minor = 0, patch = 0;
    AM_CUBLAS_CHECK(cublasGetProperty(MAJOR_VERSION, &major), "cublas_version");
    AM_CUBLAS_CHECK(cublasGetProperty(MINOR_VERSION, &minor), "cublas_version");
    AM_CUBLAS_CHECK(cublasGetProperty(PATCH_LEVEL, &patch), "cublas_version");
    return major * 10000 + minor * 100 + patch;
  }

 private:
  int count_;
  CachingAllocator allocator_;
};

}  // namespace

}  // namespace aimass::gpu

// The process-lifetime backend, or null with *why set: no driver, a driver older than the
// runtime we were built with, or no device. Never deleted: storages freed during static
// destruction still return their blocks to it.
AIMASS_CUDA_EXPORT aimass::DeviceApi* aimass_cuda_backend(std::string* why) {
  try {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err == cudaErrorNoDevice || (err == cudaSuccess && count == 0)) {
      cudaGetLastError();
      if (why) *why = "no CUDA device found";
      return nullptr;
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      if (why) *why = cudaGetErrorString(err);
      return nullptr;
    }
    static aimass::DeviceApi* api = new aimass::gpu::CudaDeviceApi(count);
    return api;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return nullptr;
  }
}
