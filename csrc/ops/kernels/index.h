// Advanced indexing: gather and scatter by element offsets. CPU: ops/cpu/index.cpp; CUDA:
// ops/cuda/index.cu.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

namespace aimass {

// Gather for advanced indexing. src: a view (any strides) of the part each index selects;
// offsets: int64 (G,) contiguous, in elements, added to src's offset; out: (G, *src.shape)
// contiguous. out[g, ...] = element at (src.offset + offsets[g] + sum idx_k * src.strides[k]).
AIMASS_KERNEL(gather, void, (const Tensor& src, const Tensor& offsets, const Tensor& out))
// The reverse: dst[offsets[g] + ...] = values[g, ...] for item assignment (later duplicates
// win), or += for the gradient of indexing (accumulate: duplicates add up; floating dtypes,
// int32 and int64). values: (G, *dst.shape), same dtype as dst, any strides (may be broadcast).
AIMASS_KERNEL(scatter, void, (const Tensor& dst, const Tensor& offsets, const Tensor& values, bool accumulate))

}  // namespace aimass
