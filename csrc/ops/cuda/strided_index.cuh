// The N-d strided indexer behind every CUDA elementwise kernel: maps a linear (row-major) index
// over a shape to one element offset per operand. Built on the host: size-1 dims are dropped and
// neighbouring dims that are contiguous with each other in every operand are merged (dim order
// is kept, so linear index i is the same logical element for every operand), then passed to the
// kernel by value. Offsets are int64 and in elements; strides may be 0 (broadcast) or negative.
#pragma once
#include <array>
#include <cstdint>

#include "core/error.h"
#include "core/tensor.h"

namespace aimass::gpu {

constexpr int kMaxDims = 10;  // after merging; more is refused with NotImplementedError

template <int N>
struct StridedIndexer {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};

  // True when every operand is walked with unit stride: offset == linear index.
  bool contiguous() const {
    if (ndim == 0) return true;
    if (ndim > 1) return false;
    for (int k = 0; k < N; ++k)
      if (strides[k][0] != 1) return false;
    return true;
  }

  __device__ void offsets(int64_t linear, int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      int64_t size = sizes[d], i = linear % size;
      linear /= size;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += i * strides[k][d];
    }
  }
};

// strides[k] are operand k's strides (elements) over `shape`.
template <int N>
StridedIndexer<N> make_indexer(const Shape& shape, const std::array<const Shape*, N>& strides, const char* op) {
  StridedIndexer<N> ix;
  int64_t merged_sizes[kMaxDims];
  int64_t merged_strides[N][kMaxDims];
  int nd = 0;
  // From the innermost dim outward: dim d merges into the current innermost merged dim when
  // stepping once along d equals stepping `size` times along it, in every operand.
  for (int d = int(shape.size()) - 1; d >= 0; --d) {
    if (shape[size_t(d)] == 1) continue;
    bool mergeable = nd > 0;
    for (int k = 0; k < N && mergeable; ++k)
      mergeable = (*strides[k])[size_t(d)] == merged_strides[k][nd - 1] * merged_sizes[nd - 1];
    if (mergeable) {
      merged_sizes[nd - 1] *= shape[size_t(d)];
    } else {
      AM_CHECK(nd < kMaxDims, NotImplementedError, "cuda ", op, ": shape ", shape,
               " has more than ", kMaxDims, " dims that cannot be merged; make the operands contiguous first");
      merged_sizes[nd] = shape[size_t(d)];
      for (int k = 0; k < N; ++k) merged_strides[k][nd] = (*strides[k])[size_t(d)];
      ++nd;
    }
  }
  ix.ndim = nd;
  for (int d = 0; d < nd; ++d) {  // back to outermost-first
    ix.sizes[d] = merged_sizes[nd - 1 - d];
    for (int k = 0; k < N; ++k) ix.strides[k][d] = merged_strides[k][nd - 1 - d];
  }
  return ix;
}

template <int N>
StridedIndexer<N> make_indexer(const std::array<const Tensor*, N>& tensors, const char* op) {
  std::array<const Shape*, N> strides;
  for (int k = 0; k < N; ++k) strides[k] = &tensors[k]->strides();
  return make_indexer<N>(tensors[0]->shape(), strides, op);
}

}  // namespace aimass::gpu
