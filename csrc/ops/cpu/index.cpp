// gather (out[g, ...] = src view at offsets[g]) and scatter (dst view at offsets[g] = values[g, ...])
// for advanced indexing. The view's shape S is walked by one strided loop started from a
// different base per g; a contiguous view is one memcpy per g. Work is split over g.
#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/cpu/strided_loop.h"

namespace aimass::cpu {

namespace {

template <typename Bits>
void copy_row(const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    *reinterpret_cast<Bits*>(p[0] + i * s[0]) = *reinterpret_cast<const Bits*>(p[1] + i * s[1]);
}

// Copies one S-shaped block: base[0] is the destination, base[1] the source.
void copy_block(const StridedLoop<2>& loop, const std::array<char*, 2>& base, int64_t itemsize) {
  if (loop.shape.size() <= 1 && (loop.shape.empty() || (loop.strides[0][0] == itemsize && loop.strides[1][0] == itemsize))) {
    std::memcpy(base[0], base[1], size_t(loop.numel * itemsize));
    return;
  }
  switch (itemsize) {
    case 1: for_each_row(loop, base, 0, loop.numel, copy_row<uint8_t>); break;
    case 2: for_each_row(loop, base, 0, loop.numel, copy_row<uint16_t>); break;
    case 4: for_each_row(loop, base, 0, loop.numel, copy_row<uint32_t>); break;
    default: for_each_row(loop, base, 0, loop.numel, copy_row<uint64_t>); break;
  }
}

template <typename T>
void add_row(const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    T& d = *reinterpret_cast<T*>(p[0] + i * s[0]);
    d = T(static_cast<acc_t<T>>(d) + static_cast<acc_t<T>>(*reinterpret_cast<const T*>(p[1] + i * s[1])));
  }
}

// Adds one S-shaped block of values (base[1]) into the destination (base[0]).
void add_block(const StridedLoop<2>& loop, const std::array<char*, 2>& base, DType dtype) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for_each_row(loop, base, 0, loop.numel, add_row<T>);
  });
}

int64_t groups_per_chunk(int64_t block) { return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, block)); }

// True when the blocks that offsets select in a view of `span` elements cannot overlap, so
// scatter may write them in any order (otherwise later duplicates must win).
bool blocks_disjoint(const int64_t* offsets, int64_t G, int64_t span) {
  std::vector<int64_t> sorted(offsets, offsets + G);
  std::sort(sorted.begin(), sorted.end());
  for (int64_t g = 1; g < G; ++g)
    if (sorted[size_t(g)] - sorted[size_t(g - 1)] < span) return false;
  return true;
}

}  // namespace

void gather(const Tensor& src, const Tensor& offsets, const Tensor& out) {
  const int64_t G = offsets.numel(), itemsize = int64_t(src.itemsize());
  const Shape out_block_strides = contiguous_strides(src.shape());
  auto loop = make_strided_loop<2>(src.shape(), {LoopOperand{nullptr, &out_block_strides, itemsize},
                                                LoopOperand{nullptr, &src.strides(), itemsize}});
  if (G == 0 || loop.numel == 0) return;
  const int64_t* off = offsets.data<int64_t>();
  char* out_base = static_cast<char*>(out.data_ptr());
  char* src_base = static_cast<char*>(src.data_ptr());
  const int64_t block = loop.numel;
  parallel_for(0, G, groups_per_chunk(block), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g)
      copy_block(loop, {out_base + g * block * itemsize, src_base + off[g] * itemsize}, itemsize);
  });
}

void scatter(const Tensor& dst, const Tensor& offsets, const Tensor& values, bool accumulate) {
  const int64_t G = offsets.numel(), itemsize = int64_t(dst.itemsize());
  const Shape value_strides(values.strides().begin() + 1, values.strides().end());
  auto loop = make_strided_loop<2>(dst.shape(), {LoopOperand{nullptr, &dst.strides(), itemsize},
                                                 LoopOperand{nullptr, &value_strides, itemsize}},
                                   /*reorder=*/false);
  if (G == 0 || loop.numel == 0) return;
  const int64_t* off = offsets.data<int64_t>();
  char* dst_base = static_cast<char*>(dst.data_ptr());
  char* values_base = static_cast<char*>(values.data_ptr());
  const int64_t values_step = values.strides()[0] * itemsize;
  auto run = [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      std::array<char*, 2> base{dst_base + off[g] * itemsize, values_base + g * values_step};
      if (accumulate) add_block(loop, base, dst.dtype());
      else copy_block(loop, base, itemsize);
    }
  };
  int64_t span = 1;  // elements from the first to the last of one block, inclusive
  for (size_t k = 0; k < dst.shape().size(); ++k) span += (dst.shape()[k] - 1) * std::abs(dst.strides()[k]);
  if (G * loop.numel >= 2 * kElementwiseGrain && blocks_disjoint(off, G, span))
    parallel_for(0, G, groups_per_chunk(loop.numel), run);
  else
    run(0, G);
}

}  // namespace aimass::cpu
