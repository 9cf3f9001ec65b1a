// Small helpers shared by the layers.
#pragma once
#include "core/error.h"
#include "core/tensor.h"

namespace aimass::nn {

// The dtype lazily built weights take from the first input: float64 for float64 inputs,
// float32 otherwise (16-bit inputs keep float32 weights; integer inputs such as token ids too).
inline DType weight_dtype_for(const Tensor& x) { return x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32; }

// ValueError unless x has `rank` dims: "Conv2D: expected a 4-D input (N, C, H, W), got ...".
inline void check_rank(const Tensor& x, int64_t rank, const char* layer, const char* layout) {
  AM_CHECK(x.dim() == rank, ValueError, layer, ": expected a ", rank, "-D input ", layout, ", got ", x.describe());
}

}  // namespace aimass::nn
