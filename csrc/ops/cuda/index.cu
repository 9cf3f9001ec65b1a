// gather: out[g, ...] = src view at src.offset + offsets[g]; out (G, *src.shape) contiguous.
// scatter: dst view at dst.offset + offsets[g] = values[g, ...]; values (G, *dst.shape), any
// strides; later duplicates win. Both move bytes, so they are instantiated per element size.
// scatter with accumulate adds instead (atomics, so duplicates sum), typed per dtype.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>

#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/kernels/index.h"

namespace aimass::gpu {
namespace {

// e = g * block + j: j is the element within one selected block (the view's shape).
template <typename Bits>
__global__ void gather_kernel(const Bits* src, const int64_t* offsets, Bits* out, int64_t n, int64_t block,
                              StridedIndexer<1> src_ix) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t off[1];
    src_ix.offsets(e % block, off);
    out[e] = src[offsets[e / block] + off[0]];
  }
}

// Threads write in no particular order, so when G > 1 the winner of every element is decided
// first: owner[p] = the largest g writing storage element p (atomicMax), then only the
// owner's value is stored. p counts elements from the start of dst's storage.
template <typename Bits, bool kOwned>
__global__ void scatter_kernel(Bits* storage, int64_t dst_offset, const int64_t* offsets, const Bits* values,
                               int* owner, int64_t n, int64_t block, StridedIndexer<1> dst_ix,
                               StridedIndexer<1> values_ix, bool claim) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t g = e / block;
    int64_t d[1], v[1];
    dst_ix.offsets(e % block, d);
    const int64_t p = dst_offset + offsets[g] + d[0];
    if constexpr (kOwned) {
      if (claim) {
        atomicMax(owner + p, int(g));
        continue;
      }
      if (owner[p] != int(g)) continue;
    }
    values_ix.offsets(e, v);
    storage[p] = values[v[0]];
  }
}

__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(reinterpret_cast<int*>(p), int(v)); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  // Two's complement: adding as unsigned wraps to the same bits as a signed add.
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
__device__ inline void atomic_add(Half* p, Half v) {
  atomicAdd(reinterpret_cast<__half*>(p), __ushort_as_half(v.bits));  // sm_70+
}
__device__ inline void atomic_add(BFloat16* p, BFloat16 v) {
  atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __ushort_as_bfloat16(v.bits));  // sm_80+
}

template <typename T>
__global__ void scatter_add_kernel(T* storage, int64_t dst_offset, const int64_t* offsets, const T* values, int64_t n,
                                   int64_t block, StridedIndexer<1> dst_ix, StridedIndexer<1> values_ix) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t d[1], v[1];
    dst_ix.offsets(e % block, d);
    values_ix.offsets(e, v);
    atomic_add(storage + dst_offset + offsets[e / block] + d[0], values[v[0]]);
  }
}

template <typename T>
void scatter_add(const Tensor& dst, const Tensor& offsets, const Tensor& values) {
  const int64_t n = offsets.numel() * dst.numel();
  StridedIndexer<1> dst_ix = make_indexer<1>(dst.shape(), {&dst.strides()}, "scatter");
  StridedIndexer<1> values_ix = make_indexer<1>(values.shape(), {&values.strides()}, "scatter");
  scatter_add_kernel<T><<<grid_for(n), kBlockSize>>>(static_cast<T*>(dst.storage()->data), dst.offset(),
                                                     offsets.data<int64_t>(), static_cast<const T*>(values.data_ptr()),
                                                     n, dst.numel(), dst_ix, values_ix);
  check_launch("scatter");
}

template <typename Bits>
void gather(const Tensor& src, const Tensor& offsets, const Tensor& out) {
  const int64_t n = out.numel(), block = src.numel();
  StridedIndexer<1> ix = make_indexer<1>(src.shape(), {&src.strides()}, "gather");
  gather_kernel<Bits><<<grid_for(n), kBlockSize>>>(static_cast<const Bits*>(src.data_ptr()),
                                                   offsets.data<int64_t>(), static_cast<Bits*>(out.data_ptr()), n,
                                                   block, ix);
  check_launch("gather");
}

template <typename Bits>
void scatter(const Tensor& dst, const Tensor& offsets, const Tensor& values) {
  const int64_t G = offsets.numel(), block = dst.numel(), n = G * block;
  StridedIndexer<1> dst_ix = make_indexer<1>(dst.shape(), {&dst.strides()}, "scatter");
  StridedIndexer<1> values_ix = make_indexer<1>(values.shape(), {&values.strides()}, "scatter");
  Bits* storage = static_cast<Bits*>(dst.storage()->data);
  const Bits* vals = static_cast<const Bits*>(values.data_ptr());
  const int64_t* off = offsets.data<int64_t>();
  if (G == 1) {
    scatter_kernel<Bits, false><<<grid_for(n), kBlockSize>>>(storage, dst.offset(), off, vals, nullptr, n, block,
                                                              dst_ix, values_ix, false);
    check_launch("scatter");
    return;
  }
  AM_CHECK(G <= INT_MAX, NotImplementedError, "cuda scatter: more than ", INT_MAX, " index groups (", G, ")");
  const int64_t storage_elements = int64_t(dst.storage()->nbytes / sizeof(Bits));
  Tensor owner = Tensor::empty({storage_elements}, DType::Int32, dst.device());
  AM_CUDA_CHECK(cudaMemsetAsync(owner.data_ptr(), 0xff, owner.nbytes(), 0), "scatter");  // -1: no writer
  for (bool claim : {true, false}) {
    scatter_kernel<Bits, true><<<grid_for(n), kBlockSize>>>(storage, dst.offset(), off, vals, owner.data<int>(), n,
                                                             block, dst_ix, values_ix, claim);
    check_launch("scatter");
  }
}

template <typename F>
void visit_itemsize(size_t itemsize, F&& f) {
  switch (itemsize) {
    case 1: f(TypeTag<uint8_t>{}); break;
    case 2: f(TypeTag<uint16_t>{}); break;
    case 4: f(TypeTag<uint32_t>{}); break;
    default: f(TypeTag<uint64_t>{}); break;
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(gather)(const Tensor& src, const Tensor& offsets, const Tensor& out) {
  if (out.numel() == 0) return;
  gpu::DeviceGuard guard(out.device().index, "gather");
  gpu::visit_itemsize(src.itemsize(), [&](auto tag) { gpu::gather<typename decltype(tag)::type>(src, offsets, out); });
}

AIMASS_CUDA_KERNEL(scatter)(const Tensor& dst, const Tensor& offsets, const Tensor& values, bool accumulate) {
  if (offsets.numel() == 0 || dst.numel() == 0) return;
  gpu::DeviceGuard guard(dst.device().index, "scatter");
  if (!accumulate) {
    gpu::visit_itemsize(dst.itemsize(), [&](auto tag) { gpu::scatter<typename decltype(tag)::type>(dst, offsets, values); });
    return;
  }
  visit_dtype(dst.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                  std::is_same_v<T, BFloat16> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      gpu::scatter_add<T>(dst, offsets, values);
    } else {
      throw NotImplementedError(str_cat("cuda scatter: accumulating into ", dst.describe(), " is not supported"));
    }
  });
}

}  // namespace aimass
