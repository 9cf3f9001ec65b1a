// k-selection for the CUDA k-NN kernels (knn_flat.cu, knn_ivf.cu). Candidates are (key, id)
// pairs, smaller key better (L2: ||x||^2 - 2 q.x, the query's own ||q||^2 added at the end;
// inner product: -q.x), ordered lexicographically by (key, id) everywhere so that results equal
// the CPU's (ops/cpu/knn_topk.h). One thread block selects for one query (or one part of one).
//
// Two engines, both written against a small Block interface (thread index, barrier, shared
// atomics) so that tests/cpp/test_knn_select.cpp runs the very same code on the host, one
// std::thread per CUDA thread with a std::barrier for __syncthreads:
//   SmallTopK (k <= kSmallK): the best kp = max(pow2 >= k, block size) candidates sorted in
//     shared memory, and a buffer of kp. A candidate enters the buffer only if it beats the
//     k-th best so far (a shared atomic hands out slots); a full buffer is bitonic-sorted and
//     merged into the best (half-cleaner + bitonic merge), which tightens the bar. Long scans
//     reject almost everything at the bar, so the sorts are rare.
//   radix_fold (any k): a running list of up to k candidates in global memory; folding in a
//     batch finds the k-th smallest of (list + batch) by an MSB-first radix select, 8 bits a
//     pass, over the 96-bit order-preserving code of (key, id), stopping as soon as the
//     k-th's bucket holds exactly the ranks still needed; then one pass keeps the k best. The
//     final order comes from CUB's segmented stable sort (by id, then by key; knn_flat.cu).
// Ids are int64 and compared as such; kNoId (INT64_MAX) marks an empty slot, so an index must
// not use that id. tests/cpp/knn_cuda_emu runs the whole .cu files on the host the same way.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#ifdef __CUDACC__
#define AM_KNN_FN __device__ __forceinline__
#else
#define AM_KNN_FN inline
#endif

namespace aimass::gpu::knn {

constexpr int64_t kNoId = INT64_MAX;  // an empty slot: with key +inf it sorts after every row
constexpr int kSmallK = 1024;         // SmallTopK's largest k (shared memory: 24 KiB at kp 1024)
constexpr int kSmallThreads = 128;    // the block size of SmallTopK kernels
constexpr float kInf = __builtin_huge_valf();

AM_KNN_FN bool before(float ka, int64_t ia, float kb, int64_t ib) { return ka < kb || (ka == kb && ia < ib); }

AM_KNN_FN float float_from_bits(uint32_t u) {
#ifdef __CUDACC__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
AM_KNN_FN uint32_t bits_from_float(float f) {
#ifdef __CUDACC__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

// Order-preserving unsigned codes: key code a < b iff key a < b (-0 == +0: both map to +0's);
// id code: the sign bit flipped, so signed order becomes unsigned order.
AM_KNN_FN uint32_t key_code(float f) {
  uint32_t u = bits_from_float(f == 0.0f ? 0.0f : f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
AM_KNN_FN float key_from_code(uint32_t c) { return float_from_bits((c & 0x80000000u) ? (c ^ 0x80000000u) : ~c); }
AM_KNN_FN uint64_t id_code(int64_t id) { return uint64_t(id) ^ (uint64_t(1) << 63); }
AM_KNN_FN int64_t id_from_code(uint64_t c) { return int64_t(c ^ (uint64_t(1) << 63)); }

#ifdef __CUDACC__
// The Block interface on the GPU: the calling thread block.
struct CudaBlock {
  __device__ int tid() const { return int(threadIdx.x); }
  __device__ int size() const { return int(blockDim.x); }
  __device__ void sync() const { __syncthreads(); }
  __device__ unsigned add(unsigned* p, unsigned v) const { return atomicAdd(p, v); }
  __device__ unsigned long long add64(unsigned long long* p, unsigned long long v) const { return atomicAdd(p, v); }
  __device__ void max_u32(unsigned* p, unsigned v) const { atomicMax(p, v); }
  __device__ void max_u64(unsigned long long* p, unsigned long long v) const { atomicMax(p, v); }
};
#endif

// ---------------------------------------------------------------- bitonic networks
// Both end with a barrier. key/id: n entries (n a power of two) in shared memory.

template <class Blk>
AM_KNN_FN void compare_swap(float* key, int64_t* id, int lo, int hi) {
  if (before(key[hi], id[hi], key[lo], id[lo])) {
    const float k = key[lo];
    key[lo] = key[hi], key[hi] = k;
    const int64_t i = id[lo];
    id[lo] = id[hi], id[hi] = i;
  }
}

// Sorts ascending.
template <class Blk>
AM_KNN_FN void bitonic_sort(const Blk& b, float* key, int64_t* id, int n) {
  for (int size = 2; size <= n; size <<= 1)
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = b.tid(); i < n / 2; i += b.size()) {
        const int lo = 2 * stride * (i / stride) + (i % stride), hi = lo + stride;
        if (lo & size) compare_swap<Blk>(key, id, hi, lo);  // descending run of this size
        else compare_swap<Blk>(key, id, lo, hi);
      }
      b.sync();
    }
}

// A bitonic sequence -> ascending.
template <class Blk>
AM_KNN_FN void bitonic_merge(const Blk& b, float* key, int64_t* id, int n) {
  for (int stride = n >> 1; stride > 0; stride >>= 1) {
    for (int i = b.tid(); i < n / 2; i += b.size()) {
      const int lo = 2 * stride * (i / stride) + (i % stride);
      compare_swap<Blk>(key, id, lo, lo + stride);
    }
    b.sync();
  }
}

// ---------------------------------------------------------------- SmallTopK

// Shared scalars of a SmallTopK (static __shared__ in the kernel).
struct SmallTopKScalars {
  unsigned count;  // entries in the buffer
  float bar_key;   // the k-th best so far: a candidate must come strictly before it
  int64_t bar_id;
  unsigned flag;   // scratch for finish()
};

inline int small_kp(int64_t k, int threads) {
  int kp = threads;
  while (kp < k) kp <<= 1;
  return kp;
}
// Dynamic shared memory of a SmallTopK: best and buffer, ids (8-byte aligned) first.
inline size_t small_smem_bytes(int kp) { return size_t(kp) * 2 * (sizeof(int64_t) + sizeof(float)); }

template <class Blk>
struct SmallTopK {
  float* top_key;  // [kp] ascending
  int64_t* top_id;
  float* buf_key;  // [kp], the first s->count filled
  int64_t* buf_id;
  SmallTopKScalars* s;
  int kp, k;

  // smem: small_smem_bytes(kp) bytes. kp >= block size (so a round of one candidate per
  // thread always fits after merge_if_needed) and kp >= k.
  AM_KNN_FN SmallTopK(unsigned char* smem, SmallTopKScalars* scalars, int kp_, int k_) : s(scalars), kp(kp_), k(k_) {
    top_id = reinterpret_cast<int64_t*>(smem);
    buf_id = top_id + kp;
    top_key = reinterpret_cast<float*>(buf_id + kp);
    buf_key = top_key + kp;
  }

  // Empty, or the kp entries at (key, id) (a state stored by store()).
  AM_KNN_FN void init(const Blk& b, const float* key = nullptr, const int64_t* id = nullptr) {
    for (int i = b.tid(); i < kp; i += b.size()) {
      top_key[i] = key ? key[i] : kInf;
      top_id[i] = key ? id[i] : kNoId;
    }
    if (b.tid() == 0) s->count = 0;
    b.sync();
    if (b.tid() == 0) s->bar_key = top_key[k - 1], s->bar_id = top_id[k - 1];
    b.sync();
  }

  AM_KNN_FN bool passes(float key) const { return key <= s->bar_key; }  // cheap first test
  // One candidate from the calling thread (NaN keys never pass).
  AM_KNN_FN void offer(const Blk& b, float key, int64_t id) {
    if (!before(key, id, s->bar_key, s->bar_id)) return;
    const unsigned slot = b.add(&s->count, 1u);
    buf_key[slot] = key, buf_id[slot] = id;
  }

  // Every thread calls this after each round of at most one offer() per thread. The second
  // barrier keeps a fast thread's next offer() from changing count before all have read it.
  AM_KNN_FN void end_round(const Blk& b) {
    b.sync();
    const int c = int(s->count);
    b.sync();
    if (c > kp - b.size()) merge(b, c);
  }
  AM_KNN_FN void flush(const Blk& b) {
    b.sync();
    const int c = int(s->count);
    b.sync();
    if (c > 0) merge(b, c);
  }

  AM_KNN_FN void merge(const Blk& b, int c) {
    for (int i = c + b.tid(); i < kp; i += b.size()) buf_key[i] = kInf, buf_id[i] = kNoId;
    b.sync();
    bitonic_sort(b, buf_key, buf_id, kp);
    // Ascending best against descending buffer, elementwise minimum: the kp best of both as a
    // bitonic sequence.
    for (int i = b.tid(); i < kp; i += b.size()) {
      const int j = kp - 1 - i;
      if (before(buf_key[j], buf_id[j], top_key[i], top_id[i])) top_key[i] = buf_key[j], top_id[i] = buf_id[j];
    }
    b.sync();
    bitonic_merge(b, top_key, top_id, kp);
    if (b.tid() == 0) s->count = 0, s->bar_key = top_key[k - 1], s->bar_id = top_id[k - 1];
    b.sync();
  }

  // Writes the kp entries (for a later init()).
  AM_KNN_FN void store(const Blk& b, float* key, int64_t* id) const {
    for (int i = b.tid(); i < kp; i += b.size()) key[i] = top_key[i], id[i] = top_id[i];
  }

  // The k best as results (call after flush()): l2 -> max(key + offset, 0), else -key;
  // empty slots -> id -1 and the worst score. Keys that clamp to 0 become -inf and are sorted
  // again, which orders the zeros by id as the CPU does (clamping can tie distinct keys).
  AM_KNN_FN void finish(const Blk& b, bool l2, float offset, float* dist, int64_t* ids) {
    if (b.tid() == 0) s->flag = 0;
    b.sync();
    if (l2)
      for (int i = b.tid(); i < k; i += b.size())
        if (top_id[i] != kNoId && top_key[i] + offset <= 0.0f) top_key[i] = -kInf, b.max_u32(&s->flag, 1u);
    b.sync();
    if (s->flag) bitonic_sort(b, top_key, top_id, kp);
    for (int i = b.tid(); i < k; i += b.size()) {
      const bool empty = top_id[i] == kNoId;
      const float key = top_key[i];
      dist[i] = empty ? (l2 ? kInf : -kInf)
                      : (l2 ? (key == -kInf ? 0.0f : fmaxf(key + offset, 0.0f)) : -key);
      ids[i] = empty ? -1 : top_id[i];
    }
  }
};

// ---------------------------------------------------------------- radix_fold

// A query's running list in global memory: up to k entries, unordered, and the bar (the
// largest of them) once there are k.
struct RadixList {
  float* key;   // [k]
  int64_t* id;  // [k]
  int64_t* count;
  float* bar_key;
  int64_t* bar_id;
};

struct RadixScalars {
  unsigned hist[256];
  unsigned long long total, need, taken, equal_taken;
  uint32_t prefix_key;
  uint64_t prefix_id;
  int digits;  // how many leading 8-bit digits of the 96-bit code the prefix fixes
  int mode;    // 0: keep selecting, 1: take everything, 2: prefix found
  unsigned max_key;
  unsigned long long max_id;
};

// Digit p (0 = most significant) of the 96-bit code (key code, id code).
AM_KNN_FN unsigned code_digit(uint32_t kc, uint64_t ic, int p) {
  return p < 4 ? (kc >> (24 - 8 * p)) & 0xFFu : unsigned(ic >> (56 - 8 * (p - 4))) & 0xFFu;
}
// Compares the first `digits` digits of a code with the prefix: -1, 0, 1.
AM_KNN_FN int code_vs_prefix(uint32_t kc, uint64_t ic, uint32_t pk, uint64_t pi, int digits) {
  const int dk = digits < 4 ? digits : 4;
  const uint32_t mk = dk == 0 ? 0u : ~0u << (32 - 8 * dk);
  if ((kc & mk) != pk) return (kc & mk) < pk ? -1 : 1;
  if (digits <= 4) return 0;
  const uint64_t mi = ~uint64_t(0) << (64 - 8 * (digits - 4));
  if ((ic & mi) != pi) return (ic & mi) < pi ? -1 : 1;
  return 0;
}

// Folds a batch of n candidates into in (k slots), writing the k best of both to out (in and
// out: distinct buffers; count and bar are updated in place). batch(j, key, id) -> false for
// a candidate that does not count (filtered out, empty). One block per list.
template <class Blk, class Batch>
AM_KNN_FN void radix_fold(const Blk& b, RadixScalars* s, const RadixList& in, float* out_key, int64_t* out_id,
                          int64_t k, const Batch& batch, int64_t n) {
  const int64_t count = *in.count;
  const bool full = count == k;
  const float bar_key = full ? *in.bar_key : 0.0f;
  const int64_t bar_id = full ? *in.bar_id : 0;
  // Candidate u: the list's entries, then the batch's (only those beating the bar when full).
  auto fetch = [&](int64_t u, float& key, int64_t& id) -> bool {
    if (u < count) {
      key = in.key[u], id = in.id[u];
      return true;
    }
    if (!batch(u - count, key, id)) return false;
    return !full || before(key, id, bar_key, bar_id);
  };
  const int64_t m = count + n;

  if (b.tid() == 0) s->prefix_key = 0, s->prefix_id = 0, s->digits = 0, s->mode = 0, s->need = (unsigned long long)k;
  for (int pass = 0; pass < 12; ++pass) {
    for (int i = b.tid(); i < 256; i += b.size()) s->hist[i] = 0;
    b.sync();
    const uint32_t pk = s->prefix_key;
    const uint64_t pi = s->prefix_id;
    const int digits = s->digits;
    for (int64_t u = b.tid(); u < m; u += b.size()) {
      float key;
      int64_t id;
      if (!fetch(u, key, id)) continue;
      const uint32_t kc = key_code(key);
      const uint64_t ic = id_code(id);
      if (code_vs_prefix(kc, ic, pk, pi, digits) == 0) b.add(&s->hist[code_digit(kc, ic, digits)], 1u);
    }
    b.sync();
    if (b.tid() == 0) {
      if (pass == 0) {
        unsigned long long total = 0;
        for (int i = 0; i < 256; ++i) total += s->hist[i];
        s->total = total;
        if (total <= s->need) s->mode = 1;
      }
      if (s->mode == 0) {
        unsigned long long below = 0;
        int bin = 0;
        while (bin < 255 && below + s->hist[bin] < s->need) below += s->hist[bin++];
        s->need -= below;
        if (digits < 4) s->prefix_key |= uint32_t(bin) << (24 - 8 * digits);
        else s->prefix_id |= uint64_t(bin) << (56 - 8 * (digits - 4));
        s->digits = digits + 1;
        // Every candidate in this bucket is needed, or the code is fully fixed.
        if (s->hist[bin] == s->need || s->digits == 12) s->mode = 2;
      }
    }
    b.sync();
    if (s->mode != 0) break;
  }

  // Keep: everything (mode 1), or codes under the prefix plus `need` of those matching it.
  if (b.tid() == 0) s->taken = 0, s->equal_taken = 0, s->max_key = 0, s->max_id = 0;
  b.sync();
  {
    const bool all = s->mode == 1;
    const uint32_t pk = s->prefix_key;
    const uint64_t pi = s->prefix_id;
    const int digits = s->digits;
    const unsigned long long need = s->need;
    for (int64_t u = b.tid(); u < m; u += b.size()) {
      float key;
      int64_t id;
      if (!fetch(u, key, id)) continue;
      bool keep = all;
      if (!keep) {
        const int c = code_vs_prefix(key_code(key), id_code(id), pk, pi, digits);
        keep = c < 0 || (c == 0 && b.add64(&s->equal_taken, 1ull) < need);
      }
      if (!keep) continue;
      const unsigned long long slot = b.add64(&s->taken, 1ull);
      out_key[slot] = key, out_id[slot] = id;
    }
  }
  b.sync();
  const int64_t kept = int64_t(s->taken);
  // The new bar: the largest kept code (key first, then id among that key).
  if (kept == k) {
    for (int64_t i = b.tid(); i < kept; i += b.size()) b.max_u32(&s->max_key, key_code(out_key[i]));
    b.sync();
    for (int64_t i = b.tid(); i < kept; i += b.size())
      if (key_code(out_key[i]) == s->max_key) b.max_u64(&s->max_id, id_code(out_id[i]));
    b.sync();
  }
  if (b.tid() == 0) {
    *in.count = kept;
    if (kept == k) *in.bar_key = key_from_code(s->max_key), *in.bar_id = id_from_code(s->max_id);
  }
  b.sync();
}

// The lists of a tile of queries, q's at [q * k, (q + 1) * k); in / out swap after each fold.
struct RadixLists {
  float* key_in;
  int64_t* id_in;
  float* key_out;
  int64_t* id_out;
  int64_t* count;  // (qt,) entries held
  float* bar_key;  // (qt,)
  int64_t* bar_id;
  int64_t k;
  AM_KNN_FN RadixList in(int64_t q) const { return {key_in + q * k, id_in + q * k, count + q, bar_key + q, bar_id + q}; }
};

}  // namespace aimass::gpu::knn

#ifdef __CUDACC__
#include "core/tensor.h"

namespace aimass::gpu::knn {

// Scratch of the radix path for qt queries: two (qt, k) lists (the in / out of each fold, then
// the double buffer of the final sort), counts and bars. 24 k + 24 bytes a query.
struct RadixWork {
  Tensor key[2], id[2], count, bar_key, bar_id;
  int cur = 0;
  RadixWork(int64_t qt, int64_t k, Device device);
  void reset(int64_t m);  // no entries for queries [0, m)
  RadixLists lists(int64_t k) const {
    return {key[cur].data<float>(), id[cur].data<int64_t>(), key[1 - cur].data<float>(), id[1 - cur].data<int64_t>(),
            count.data<int64_t>(), bar_key.data<float>(), bar_id.data<int64_t>(), k};
  }
  void swap() { cur = 1 - cur; }
};

// Sorts the m lists of w by (key, id) and writes them as results (m, k): L2 scores are
// max(key + qn[q], 0) (keys that clamp to 0 first become -inf so those rows order by id, as
// on the CPU), inner products -key; empty slots id -1 and the worst score. Defined in
// knn_flat.cu.
void radix_finish(RadixWork& w, int64_t m, int64_t k, const float* qn, bool l2, float* dist, int64_t* ids,
                  Device device);
// Merges SmallTopK states (m queries x parts x kp, as SmallTopK::store() writes them; blocks
// of 128 threads) and writes each query's k results (m, k) by SmallTopK::finish(); qn: (m,)
// for L2, null for inner product. Defined in knn_flat.cu.
void small_finish(const float* state_key, const int64_t* state_id, int64_t m, int kp, int k, int parts,
                  const float* qn, float* dist, int64_t* ids);
// out[i] = ||q_i||^2 for q (n, d) float32 on the current device. Defined in knn_flat.cu.
void query_norms(const float* q, int64_t n, int64_t d, float* out);
// Blocks for a grid-stride loop over n elements (n > 0).
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return unsigned(blocks < 65535 ? blocks : 65535);
}

}  // namespace aimass::gpu::knn
#endif
