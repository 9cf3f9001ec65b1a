// Matrix products through the BLAS (CPU) and cuBLAS (CUDA).
#pragma once
#include "core/tensor.h"

namespace aimass {

// NumPy's matmul: 1-d operands are promoted to a row / column and the added dim dropped;
// leading (batch) dims broadcast. (..., M, K) @ (..., K, N) -> (..., M, N).
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace aimass
