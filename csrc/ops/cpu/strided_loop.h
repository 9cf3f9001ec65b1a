// The N-d strided iterator behind every elementwise CPU kernel. Operand k's element at index
// (i0, i1, ...) lives at base[k] + sum_d i_d * strides[k][d] bytes. make_strided_loop drops
// unit dims, orders dims by operand 0's strides (outermost first, so an output written
// through a transposed view is still walked in memory order) and merges neighbouring dims
// that are contiguous with each other in every operand; the kernels then see few, long
// innermost rows, and a fully contiguous problem is one row.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "core/parallel.h"
#include "core/tensor.h"

namespace aimass::cpu {

// One operand of a loop: its data and its strides in elements.
struct LoopOperand {
  char* data;
  const Shape* strides;
  int64_t itemsize;
};

inline LoopOperand operand(const Tensor& t) {
  return {static_cast<char*>(t.data_ptr()), &t.strides(), int64_t(t.itemsize())};
}

template <size_t N>
struct StridedLoop {
  std::array<char*, N> base{};
  Shape shape;                              // dim 0 is outermost
  std::array<std::vector<int64_t>, N> strides;  // bytes
  int64_t numel = 1;
};

// reorder = false keeps the given dim order (scatter relies on it: later duplicates win).
template <size_t N>
StridedLoop<N> make_strided_loop(const Shape& shape, const std::array<LoopOperand, N>& ops,
                                 bool reorder = true) {
  StridedLoop<N> loop;
  for (size_t k = 0; k < N; ++k) loop.base[k] = ops[k].data;
  std::vector<size_t> dims;
  for (size_t d = 0; d < shape.size(); ++d) {
    loop.numel *= shape[d];
    if (shape[d] != 1) dims.push_back(d);
  }
  if (loop.numel == 0) return loop;
  auto stride = [&](size_t k, size_t d) { return (*ops[k].strides)[d] * ops[k].itemsize; };
  if (reorder) {
    std::stable_sort(dims.begin(), dims.end(), [&](size_t x, size_t y) {
      return std::llabs(stride(0, x)) > std::llabs(stride(0, y));
    });
  }
  // Merge from the innermost dim outward.
  std::vector<int64_t> merged_shape;
  std::array<std::vector<int64_t>, N> merged_strides;
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    size_t d = *it;
    bool mergeable = !merged_shape.empty();
    for (size_t k = 0; k < N && mergeable; ++k)
      mergeable = stride(k, d) == merged_strides[k].back() * merged_shape.back();
    if (mergeable) {
      merged_shape.back() *= shape[d];
    } else {
      merged_shape.push_back(shape[d]);
      for (size_t k = 0; k < N; ++k) merged_strides[k].push_back(stride(k, d));
    }
  }
  loop.shape.assign(merged_shape.rbegin(), merged_shape.rend());
  for (size_t k = 0; k < N; ++k) loop.strides[k].assign(merged_strides[k].rbegin(), merged_strides[k].rend());
  return loop;
}

template <size_t N>
StridedLoop<N> make_strided_loop(const std::array<const Tensor*, N>& tensors) {
  std::array<LoopOperand, N> ops;
  for (size_t k = 0; k < N; ++k) ops[k] = operand(*tensors[k]);
  return make_strided_loop(tensors[0]->shape(), ops);
}

// Calls row(ptrs, steps, count) for elements [begin, end) of the loop in row-major order: one
// call per (part of an) innermost row, ptrs at its first element, steps its byte strides.
// `base` replaces loop.base: gather and scatter walk one loop from many starting points.
template <size_t N, typename Row>
void for_each_row(const StridedLoop<N>& loop, const std::array<char*, N>& base, int64_t begin, int64_t end, Row&& row) {
  const size_t nd = loop.shape.size();
  std::array<int64_t, N> steps{};
  if (nd == 0) {
    if (begin < end) row(base, steps, int64_t(1));
    return;
  }
  const int64_t inner = loop.shape[nd - 1];
  for (size_t k = 0; k < N; ++k) steps[k] = loop.strides[k][nd - 1];
  std::vector<int64_t> idx(nd);
  std::array<char*, N> ptrs = base;
  for (int64_t rem = begin, d = int64_t(nd) - 1; d >= 0; --d) {
    idx[d] = rem % loop.shape[d];
    rem /= loop.shape[d];
    for (size_t k = 0; k < N; ++k) ptrs[k] += idx[d] * loop.strides[k][d];
  }
  for (int64_t pos = begin; pos < end;) {
    int64_t count = std::min(inner - idx[nd - 1], end - pos);
    row(ptrs, steps, count);
    pos += count;
    idx[nd - 1] += count;
    for (size_t k = 0; k < N; ++k) ptrs[k] += count * steps[k];
    for (size_t d = nd - 1; d > 0 && idx[d] == loop.shape[d]; --d) {
      for (size_t k = 0; k < N; ++k) ptrs[k] += loop.strides[k][d - 1] - loop.shape[d] * loop.strides[k][d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

template <size_t N, typename Row>
void for_each_row(const StridedLoop<N>& loop, int64_t begin, int64_t end, Row&& row) {
  for_each_row(loop, loop.base, begin, end, row);
}

// for_each_row over the whole loop, split across threads in chunks of >= grain elements.
template <size_t N, typename Row>
void parallel_rows(const StridedLoop<N>& loop, Row&& row, int64_t grain = kElementwiseGrain) {
  parallel_for(0, loop.numel, grain, [&](int64_t begin, int64_t end) { for_each_row(loop, begin, end, row); });
}

// True when every operand walks its row with unit stride (elements of sizes[k] bytes).
template <size_t N>
bool row_is_contiguous(const std::array<int64_t, N>& steps, const std::array<int64_t, N>& sizes) {
  for (size_t k = 0; k < N; ++k)
    if (steps[k] != sizes[k]) return false;
  return true;
}

}  // namespace aimass::cpu
