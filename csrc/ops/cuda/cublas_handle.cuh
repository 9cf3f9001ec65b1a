// The cuBLAS handle of a device, shared by every kernel that calls cuBLAS (matmul, linear):
// created on first use with full-precision math (no TF32) and kept for the process, since
// destroying handles during static destruction can run after the driver is gone.
#pragma once
#include <cublas_v2.h>

namespace aimass::gpu {

cublasHandle_t cublas_handle(int device);  // defined in matmul.cu

}  // namespace aimass::gpu
