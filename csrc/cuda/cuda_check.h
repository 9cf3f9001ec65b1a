// Error checks and the device guard shared by the CUDA backend. Every CUDA / cuBLAS call is
// checked; a failure throws RuntimeError naming the op, the call and the library's message.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

// The extern "C" entry points of libaimass_cuda.so.
#define AIMASS_CUDA_EXPORT extern "C" __attribute__((visibility("default")))
// Defines the CUDA kernel `name` of an AIMASS_KERNEL line (core/dispatch.h), inside namespace
// aimass, where the line declared it: AIMASS_CUDA_KERNEL(softmax)(const Tensor& in, ...) { ... }.
// Without the family header the name softmax_fn is unknown, and parameters that differ from the
// contract redeclare a C function: both are compile errors.
#define AIMASS_CUDA_KERNEL(name) AIMASS_CUDA_EXPORT kernel_result<name##_fn>::type aimass_cuda_##name

// AM_CUDA_CHECK(cudaMemcpy(...), "copy") throws "cuda copy: cudaMemcpy(...) failed: <reason>".
#define AM_CUDA_CHECK(expr, op) ::aimass::gpu::check_cuda((expr), op, #expr)
#define AM_CUBLAS_CHECK(expr, op) ::aimass::gpu::check_cublas((expr), op, #expr)

namespace aimass::gpu {

inline void check_cuda(cudaError_t err, const char* op, const char* call) {
  if (err == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next check does not report it again
  throw RuntimeError(str_cat("cuda ", op, ": ", call, " failed: ", cudaGetErrorName(err), ": ",
                             cudaGetErrorString(err)));
}

inline void check_cublas(cublasStatus_t status, const char* op, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw RuntimeError(str_cat("cuda ", op, ": ", call, " failed: ", cublasGetStatusName(status), " (",
                             cublasGetStatusString(status), ")"));
}

// After every kernel launch: a bad launch configuration or an earlier asynchronous fault.
inline void check_launch(const char* op) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw RuntimeError(str_cat("cuda ", op, ": kernel launch failed: ", cudaGetErrorName(err), ": ",
                               cudaGetErrorString(err)));
}

// Makes `device` current for the scope and restores the previous device after it.
class DeviceGuard {
 public:
  DeviceGuard(int device, const char* op) {
    AM_CUDA_CHECK(cudaGetDevice(&previous_), op);
    if (previous_ != device) AM_CUDA_CHECK(cudaSetDevice(device), op);
  }
  ~DeviceGuard() {
    int current = previous_;
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace aimass::gpu
