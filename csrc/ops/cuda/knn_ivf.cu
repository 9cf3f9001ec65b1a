// IVF scan on the GPU (the CPU reference is ops/cpu/knn_ivf.cpp): each query scans the rows of
// the lists it probes. lists: (ntotal, d) float32 or float16 grouped by list, list l being rows
// [offsets[l], offsets[l + 1]); probes: (nq, nprobe) list numbers (-1, out of range or
// repeated: skipped). Scores are direct dot products, one warp per row (lanes over d, so the
// row is read coalesced; float16 rows widened to float32, accumulation in float32), the query
// in float32 as on the CPU.
//   k <= 1024: one block per query scans its lists in rounds of 128 rows into a SmallTopK in
//     shared memory and writes its results: one kernel, no scratch beyond the cleaned probes.
//   k > 1024: tiles of qt queries; each query's rows are scored in chunks of 65536 into a
//     buffer (qt, 65536) and folded into radix lists (qt, k), sorted at the end by CUB.
//     Scratch: qt (24 k + 12 * 65536 + 32) bytes <= 192 MiB (or one query's worth, if more).
#include <algorithm>
#include <climits>
#include <vector>

#include <cuda_fp16.h>

#include "cuda/cuda_check.h"
#include "ops/cuda/knn_select.cuh"
#include "ops/kernels/knn.h"

namespace aimass::gpu::knn {

namespace {

constexpr int64_t kMinBlocks = 264;  // 2 per SM of an H100: below this, split each query's rows into parts
constexpr int64_t kMaxParts = 64;
constexpr int kRadixThreads = 256;
constexpr int64_t kChunk = 65536;   // rows a radix-path query scores between folds
constexpr int64_t kWorkBytes = int64_t(192) << 20;

__device__ __forceinline__ float widen(float v) { return v; }
__device__ __forceinline__ float widen(__half v) { return __half2float(v); }

// Rows of list l, clamped to [0, ntotal] so that bad offsets cannot send a read out of bounds.
__device__ __forceinline__ void list_rows(const int64_t* offsets, int64_t l, int64_t ntotal, int64_t& r0,
                                          int64_t& r1) {
  r0 = min(max(offsets[l], int64_t(0)), ntotal);
  r1 = min(max(offsets[l + 1], r0), ntotal);
}

struct IvfProblem {
  const float* q;  // (nq, d)
  int64_t d;
  const void* lists;    // (ntotal, d)
  const float* norms;   // (ntotal,) or null (inner product)
  const int64_t* ids;   // (ntotal,)
  const bool* allowed;  // (ntotal,) or null
  const int64_t* offsets;
  int64_t ntotal;
  const int64_t* probes;  // (nq, nprobe) cleaned: -1 or a list probed for the first time
  int64_t nprobe;
  float a;  // -2 (L2) or -1
};

// The key of row r for query qv, computed by a whole warp (every lane gets it); NaN when
// `allowed` rules the row out (NaN never enters a selection).
template <typename T>
__device__ float row_key(const IvfProblem& p, const float* qv, int64_t r) {
  if (p.allowed && !p.allowed[r]) return __int_as_float(0x7fffffff);
  const T* x = static_cast<const T*>(p.lists) + r * p.d;
  float s = 0;
  for (int64_t t = threadIdx.x % 32; t < p.d; t += 32) s += qv[t] * widen(x[t]);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  // a * s is exact (a power of two): one rounding, as the CPU's a * ip + b.
  return p.norms ? fmaf(p.a, s, p.norms[r]) : p.a * s;
}

// Block per query: probe j kept only if it names a list and no earlier probe of the query
// names it; len[q] = rows the query scans.
__global__ void clean_probes_kernel(const int64_t* probes, int64_t nq, int64_t nprobe, const int64_t* offsets,
                                    int64_t nlist, int64_t ntotal, int64_t* clean, int64_t* len) {
  __shared__ unsigned long long rows;
  for (int64_t q = blockIdx.x; q < nq; q += gridDim.x) {
    if (threadIdx.x == 0) rows = 0;
    __syncthreads();
    const int64_t* pq = probes + q * nprobe;
    for (int64_t j = threadIdx.x; j < nprobe; j += blockDim.x) {
      const int64_t l = pq[j];
      bool keep = l >= 0 && l < nlist;
      for (int64_t i = 0; keep && i < j; ++i) keep = pq[i] != l;
      clean[q * nprobe + j] = keep ? l : -1;
      if (keep) {
        int64_t r0, r1;
        list_rows(offsets, l, ntotal, r0, r1);
        atomicAdd(&rows, (unsigned long long)(r1 - r0));
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) len[q] = int64_t(rows);
    __syncthreads();
  }
}

// Block (q, part) scans rounds part, part + parts, ... of its query's rows (128 rows a round,
// lists in probe order) into a SmallTopK; with one part it writes the results, else its state
// (state[(q * parts + part) * kp ...]) for small_finish().
template <typename T>
__global__ void ivf_small_search(IvfProblem p, const float* qn, int kp, int k, int parts, float* state_key,
                                 int64_t* state_id, float* dist, int64_t* out_ids) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ SmallTopKScalars scalars;
  __shared__ float round_key[kSmallThreads];
  __shared__ int64_t round_id[kSmallThreads];
  const CudaBlock b{};
  SmallTopK<CudaBlock> top(smem, &scalars, kp, k);
  const int64_t qi = blockIdx.x;
  const int part = blockIdx.y;
  const float* qv = p.q + qi * p.d;
  const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
  top.init(b);
  int64_t round = 0;
  for (int64_t j = 0; j < p.nprobe; ++j) {
    const int64_t l = p.probes[qi * p.nprobe + j];
    if (l < 0) continue;
    int64_t r0, r1;
    list_rows(p.offsets, l, p.ntotal, r0, r1);
    for (int64_t base = r0; base < r1; base += blockDim.x, ++round) {
      if (round % parts != part) continue;
      const int64_t n = min(int64_t(blockDim.x), r1 - base);
      for (int i = warp; i < n; i += warps) {  // warp-uniform
        const float key = row_key<T>(p, qv, base + i);
        if (threadIdx.x % 32 == 0) round_key[i] = key, round_id[i] = p.ids[base + i];
      }
      b.sync();
      if (threadIdx.x < n && top.passes(round_key[threadIdx.x]))
        top.offer(b, round_key[threadIdx.x], round_id[threadIdx.x]);
      top.end_round(b);  // its barriers also keep round_* intact until every thread has read them
    }
  }
  top.flush(b);
  if (parts == 1) top.finish(b, qn != nullptr, qn ? qn[qi] : 0.0f, dist + qi * k, out_ids + qi * k);
  else top.store(b, state_key + (qi * parts + part) * kp, state_id + (qi * parts + part) * kp);
}

// Block q scores positions [c0, c0 + kChunk) of its query's row stream (its lists in probe
// order) into buf (kChunk per query); p.q and p.probes start at the tile's first query.
template <typename T>
__global__ void ivf_score_chunk(IvfProblem p, int64_t c0, float* buf_key, int64_t* buf_id) {
  const int64_t qi = blockIdx.x;
  const float* qv = p.q + qi * p.d;
  const int warp = threadIdx.x / 32, warps = blockDim.x / 32;
  float* key = buf_key + qi * kChunk;
  int64_t* id = buf_id + qi * kChunk;
  int64_t seen = 0;  // stream position of the current list's first row
  for (int64_t j = 0; j < p.nprobe && seen < c0 + kChunk; ++j) {
    const int64_t l = p.probes[qi * p.nprobe + j];
    if (l < 0) continue;
    int64_t r0, r1;
    list_rows(p.offsets, l, p.ntotal, r0, r1);
    const int64_t lo = max(c0, seen), hi = min(c0 + kChunk, seen + (r1 - r0));
    for (int64_t s = lo + warp; s < hi; s += warps) {
      const int64_t r = r0 + (s - seen);
      const float v = row_key<T>(p, qv, r);
      if (threadIdx.x % 32 == 0) key[s - c0] = v, id[s - c0] = p.ids[r];
    }
    seen += r1 - r0;
  }
}

struct ChunkBatch {
  const float* key;
  const int64_t* id;
  __device__ bool operator()(int64_t j, float& k, int64_t& i) const {
    k = key[j], i = id[j];
    return !isnan(k);
  }
};

__global__ void ivf_radix_fold(const float* buf_key, const int64_t* buf_id, const int64_t* len, int64_t c0,
                               RadixLists lists) {
  __shared__ RadixScalars scalars;
  const CudaBlock b{};
  const int64_t q = blockIdx.x;
  const int64_t n = min(max(len[q] - c0, int64_t(0)), kChunk);
  radix_fold(b, &scalars, lists.in(q), lists.key_out + q * lists.k, lists.id_out + q * lists.k, lists.k,
             ChunkBatch{buf_key + q * kChunk, buf_id + q * kChunk}, n);
}

template <typename T>
void radix_search(IvfProblem p, int64_t nq, int64_t k, const int64_t* len, const float* qn, bool l2, float* dist,
                  int64_t* ids, Device device) {
  const char* op = "knn_ivf_search";
  std::vector<int64_t> host_len(static_cast<size_t>(nq));
  AM_CUDA_CHECK(cudaMemcpy(host_len.data(), len, size_t(nq) * sizeof(int64_t), cudaMemcpyDeviceToHost), op);
  const int64_t qt = std::min(nq, std::max<int64_t>(1, kWorkBytes / (k * 24 + kChunk * 12 + 32)));
  RadixWork work(qt, k, device);
  Tensor buf_key = Tensor::empty({qt * kChunk}, DType::Float32, device);
  Tensor buf_id = Tensor::empty({qt * kChunk}, DType::Int64, device);
  for (int64_t q0 = 0; q0 < nq; q0 += qt) {
    const int64_t m = std::min(qt, nq - q0);
    const int64_t longest = *std::max_element(host_len.begin() + q0, host_len.begin() + q0 + m);
    IvfProblem tile = p;
    tile.q += q0 * p.d;
    tile.probes += q0 * p.nprobe;
    work.reset(m);
    for (int64_t c0 = 0; c0 < longest; c0 += kChunk) {
      ivf_score_chunk<T><<<unsigned(m), kRadixThreads>>>(tile, c0, buf_key.data<float>(), buf_id.data<int64_t>());
      check_launch(op);
      ivf_radix_fold<<<unsigned(m), kRadixThreads>>>(buf_key.data<float>(), buf_id.data<int64_t>(), len + q0, c0,
                                                     work.lists(k));
      check_launch(op);
      work.swap();
    }
    radix_finish(work, m, k, qn ? qn + q0 : nullptr, l2, dist + q0 * k, ids + q0 * k, device);
  }
}

}  // namespace
}  // namespace aimass::gpu::knn

namespace aimass {

AIMASS_CUDA_KERNEL(knn_ivf_search)(const Tensor& queries, const Tensor& lists, const Tensor& norms, const Tensor& ids,
                                   const Tensor& allowed, const Tensor& offsets, const Tensor& probes, KnnMetric metric,
                                   const Tensor& out_dist, const Tensor& out_ids) {
  using namespace aimass::gpu::knn;
  const char* op = "knn_ivf_search";
  const int64_t nq = queries.shape()[0], d = queries.shape()[1], k = out_dist.shape()[1];
  const int64_t nprobe = probes.shape()[1], nlist = offsets.shape()[0] - 1;
  if (nq == 0) return;
  AM_CHECK(k <= INT_MAX, NotImplementedError, "cuda ", op, ": k = ", k, " is too large");
  gpu::DeviceGuard guard(queries.device().index, op);
  const Device device = queries.device();
  const bool l2 = metric == KnnMetric::L2, half = lists.dtype() == DType::Float16;

  Tensor clean = Tensor::empty({nq * nprobe}, DType::Int64, device);
  Tensor len = Tensor::empty({nq}, DType::Int64, device);
  clean_probes_kernel<<<unsigned(std::min<int64_t>(nq, 65535)), 128>>>(
      probes.data<int64_t>(), nq, nprobe, offsets.data<int64_t>(), nlist, lists.shape()[0], clean.data<int64_t>(),
      len.data<int64_t>());
  gpu::check_launch(op);
  Tensor qn = Tensor::empty({nq}, DType::Float32, device);
  if (l2) query_norms(queries.data<float>(), nq, d, qn.data<float>());

  const IvfProblem p{queries.data<float>(), d, lists.data_ptr(), l2 ? norms.data<float>() : nullptr,
                     ids.data<int64_t>(), allowed.defined() ? allowed.data<bool>() : nullptr, offsets.data<int64_t>(),
                     lists.shape()[0], clean.data<int64_t>(), nprobe, l2 ? -2.0f : -1.0f};
  const float* qnp = l2 ? qn.data<float>() : nullptr;
  float* dist = out_dist.data<float>();
  int64_t* out = out_ids.data<int64_t>();
  if (k <= kSmallK) {
    const int kp = small_kp(k, kSmallThreads);
    const size_t smem = small_smem_bytes(kp);
    // Few queries: split each one's rows over parts, merged by small_finish().
    const int64_t parts = std::min((kMinBlocks + nq - 1) / nq, kMaxParts);
    Tensor state_key, state_id;
    if (parts > 1) {
      state_key = Tensor::empty({nq * parts * kp}, DType::Float32, device);
      state_id = Tensor::empty({nq * parts * kp}, DType::Int64, device);
    }
    float* sk = parts > 1 ? state_key.data<float>() : nullptr;
    int64_t* si = parts > 1 ? state_id.data<int64_t>() : nullptr;
    const dim3 grid{unsigned(nq), unsigned(parts)};
    if (half)
      ivf_small_search<__half><<<grid, kSmallThreads, smem>>>(p, qnp, kp, int(k), int(parts), sk, si, dist, out);
    else
      ivf_small_search<float><<<grid, kSmallThreads, smem>>>(p, qnp, kp, int(k), int(parts), sk, si, dist, out);
    gpu::check_launch(op);
    if (parts > 1) small_finish(sk, si, nq, kp, int(k), int(parts), qnp, dist, out);
  } else if (half) {
    radix_search<__half>(p, nq, k, len.data<int64_t>(), qnp, l2, dist, out, device);
  } else {
    radix_search<float>(p, nq, k, len.data<int64_t>(), qnp, l2, dist, out, device);
  }
}

}  // namespace aimass
