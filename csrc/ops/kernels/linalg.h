// Batched matrix product. CPU: ops/cpu/matmul.cpp (BLAS); CUDA: ops/cuda/matmul.cu (cuBLAS).
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// out[b] = a[b] @ b[b]. a: (B, M, K), b: (B, K, N), out: (B, M, N) contiguous, one dtype.
// a and b may have batch stride 0 (broadcast) and each has unit stride in one of its last
// two dims (row- or column-major matrices, ready for BLAS's transpose flags).
AIMASS_KERNEL(matmul, void, (const Tensor& a, const Tensor& b, const Tensor& out))

}  // namespace aimass
