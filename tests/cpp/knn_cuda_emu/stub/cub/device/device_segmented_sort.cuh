// Emulation of CUB's segmented stable sort (std::stable_sort per segment; DoubleBuffer flips).
#pragma once
#include <numeric>
#include "cuda_runtime.h"
namespace cub {
template <typename T>
struct DoubleBuffer {
  T* d_buffers[2];
  int selector = 0;
  DoubleBuffer(T* a, T* b) { d_buffers[0] = a, d_buffers[1] = b; }
  T* Current() { return d_buffers[selector]; }
  T* Alternate() { return d_buffers[selector ^ 1]; }
};
struct DeviceSegmentedSort {
  template <typename K, typename V, typename B, typename E>
  static cudaError_t StableSortPairs(void* temp, size_t& bytes, DoubleBuffer<K>& keys, DoubleBuffer<V>& vals,
                                     int64_t n, int64_t nseg, B begin, E end, cudaStream_t = 0) {
    if (!temp) { bytes = 16; return cudaSuccess; }
    K* ki = keys.Current(); K* ko = keys.Alternate();
    V* vi = vals.Current(); V* vo = vals.Alternate();
    for (int64_t s = 0; s < nseg; ++s) {
      const int64_t b = begin[s], e = end[s];
      std::vector<int64_t> order(size_t(e - b));
      std::iota(order.begin(), order.end(), b);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return ki[x] < ki[y]; });
      for (int64_t i = b; i < e; ++i) ko[i] = ki[order[size_t(i - b)]], vo[i] = vi[order[size_t(i - b)]];
    }
    keys.selector ^= 1, vals.selector ^= 1;
    return cudaSuccess;
  }
};
}  // namespace cub
