// Exact k-NN on the GPU (the CPU reference is ops/cpu/knn_flat.cpp). queries: (nq, d) float32;
// base: (nb, d) float32 or float16; results (nq, k) by the rules of ops/knn.h.
// Tiles: qt queries x bt = min(nb, 32768) base rows. Scores ip (qt, bt) = Q (qt, d) @ X^T come
// from cuBLAS: float32 -> Sgemm on the handle's full-precision math (no TF32, so scores match
// the CPU's to float32 rounding); float16 -> GemmEx on an fp16 copy of the query tile with
// float32 accumulation and output. A fold kernel then turns each row into keys (L2:
// ||x||^2 - 2 q.x; inner product: -q.x), drops rows `allowed` rules out, and folds them into a
// per-query selection kept on the device across base tiles (knn_select.cuh):
//   k <= 1024: SmallTopK states (qt x parts x kp); when the queries alone give too few blocks
//     the tile's columns are split into parts, each with its own state, merged at the end;
//   k > 1024: radix_fold lists (qt x k, two of them), sorted at the end by CUB.
// Scratch bound: score tile <= 128 MiB, selection state <= 96 MiB (or one query's 24 k bytes
// when that is more), fp16 query tile <= 16 MiB: about 240 MiB besides the result.
// Everything runs on the legacy default stream, as the other kernels and the cuBLAS handle.
#include <algorithm>
#include <climits>
#include <memory>

#include <cub/device/device_segmented_sort.cuh>
#include <cuda_fp16.h>

#include "cuda/cuda_check.h"
#include "ops/cuda/cublas_handle.cuh"
#include "ops/cuda/knn_select.cuh"
#include "ops/kernels/knn.h"

namespace aimass::gpu::knn {

namespace {

constexpr int kRadixThreads = 256;
constexpr int kThreads = 256;       // elementwise helpers
constexpr int64_t kBaseTile = 32768;
constexpr int64_t kScoreBytes = int64_t(128) << 20;
constexpr int64_t kStateBytes = int64_t(96) << 20;
constexpr int64_t kHalfQueryBytes = int64_t(16) << 20;
constexpr int64_t kMaxQueryTile = 65536;
constexpr int64_t kMinBlocks = 264;  // 2 per SM of an H100: below this, split the base into parts
constexpr int64_t kMinPartColumns = 1024;

__global__ void query_norms_kernel(const float* q, int64_t n, int64_t d, float* out) {
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  for (int64_t i = warp; i < n; i += int64_t(gridDim.x) * blockDim.x / 32) {  // warp-uniform
    float s = 0;
    for (int64_t t = lane; t < d; t += 32) s += q[i * d + t] * q[i * d + t];
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) out[i] = s;
  }
}

__global__ void to_half_kernel(const float* in, __half* out, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2half_rn(in[i]);
}

__global__ void fill_empty_kernel(float* dist, int64_t* ids, int64_t n, float worst) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dist[i] = worst, ids[i] = -1;
}

// Row j of a score tile as a candidate (key, id); false when `allowed` rules it out or the key
// is NaN (which the CPU never keeps either).
struct ScoreRow {
  const float* ip;      // (bt,) this query's scores
  const float* norms;   // (bt,) or null (inner product)
  const int64_t* ids;   // (bt,)
  const bool* allowed;  // (bt,) or null
  float a;              // -2 (L2) or -1
  __device__ bool operator()(int64_t j, float& key, int64_t& id) const {
    if (allowed && !allowed[j]) return false;
    // a * ip is exact (a power of two), so this rounds once, as the CPU's a * ip + b does.
    key = norms ? fmaf(a, ip[j], norms[j]) : a * ip[j];
    id = ids[j];
    return !isnan(key);
  }
};

// Block (q, part) folds its share of the tile's columns into its SmallTopK state
// state[(q * parts + part) * kp ...]. ip: (m, bt).
__global__ void flat_small_fold(ScoreRow tile, int64_t bt, float* state_key, int64_t* state_id, int kp, int k,
                                int parts, bool first) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ SmallTopKScalars scalars;
  const CudaBlock b{};
  SmallTopK<CudaBlock> top(smem, &scalars, kp, k);
  const int64_t q = blockIdx.x, part = blockIdx.y, slot = (q * parts + part) * kp;
  if (first) top.init(b);
  else top.init(b, state_key + slot, state_id + slot);
  const int64_t per = (bt + parts - 1) / parts, c0 = min(bt, part * per), c1 = min(bt, c0 + per);
  tile.ip += q * bt;
  for (int64_t r = c0; r < c1; r += blockDim.x) {
    const int64_t j = r + threadIdx.x;
    if (j < c1 && (!tile.allowed || tile.allowed[j])) {
      const float key = tile.norms ? fmaf(tile.a, tile.ip[j], tile.norms[j]) : tile.a * tile.ip[j];
      if (top.passes(key)) top.offer(b, key, tile.ids[j]);
    }
    top.end_round(b);
  }
  top.flush(b);
  top.store(b, state_key + slot, state_id + slot);
}

// Block q merges its parts' states and writes its results. qn: (m,) or null (inner product);
// dist, ids: (m, k).
__global__ void small_merge_finish(const float* state_key, const int64_t* state_id, int kp, int k, int parts,
                                  const float* qn, float* dist, int64_t* ids) {
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ SmallTopKScalars scalars;
  const CudaBlock b{};
  SmallTopK<CudaBlock> top(smem, &scalars, kp, k);
  const int64_t q = blockIdx.x;
  top.init(b, state_key + q * parts * kp, state_id + q * parts * kp);
  for (int part = 1; part < parts; ++part) {
    const int64_t slot = (q * parts + part) * kp;
    for (int r = 0; r < kp; r += blockDim.x) {  // kp is a multiple of the block size
      const float key = state_key[slot + r + threadIdx.x];
      if (top.passes(key)) top.offer(b, key, state_id[slot + r + threadIdx.x]);
      top.end_round(b);
    }
  }
  top.flush(b);
  top.finish(b, qn != nullptr, qn ? qn[q] : 0.0f, dist + q * k, ids + q * k);
}

__global__ void flat_radix_fold(ScoreRow tile, int64_t bt, RadixLists lists) {
  __shared__ RadixScalars scalars;
  const CudaBlock b{};
  const int64_t q = blockIdx.x;
  tile.ip += q * bt;
  radix_fold(b, &scalars, lists.in(q), lists.key_out + q * lists.k, lists.id_out + q * lists.k, lists.k, tile, bt);
}

// Lists -> sort input: entries past count become empty slots, L2 keys that clamp to 0 become
// -inf, and -0 becomes +0 (the radix sort would put -0 first).
__global__ void radix_prepare_kernel(float* key, int64_t* id, const int64_t* count, int64_t m, int64_t k,
                                     const float* qn) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < m * k; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = i / k;
    if (i - q * k >= count[q]) {
      key[i] = kInf, id[i] = kNoId;
      continue;
    }
    const float v = key[i];
    key[i] = (qn && v + qn[q] <= 0.0f) ? -kInf : (v == 0.0f ? 0.0f : v);
  }
}

__global__ void radix_output_kernel(const float* key, const int64_t* id, int64_t m, int64_t k, const float* qn,
                                    float* dist, int64_t* ids) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < m * k; i += int64_t(gridDim.x) * blockDim.x) {
    const bool empty = id[i] == kNoId;
    const float v = key[i];
    if (qn) dist[i] = empty ? kInf : (v == -kInf ? 0.0f : fmaxf(v + qn[i / k], 0.0f));
    else dist[i] = empty ? -kInf : -v;
    ids[i] = empty ? -1 : id[i];
  }
}

__global__ void segment_offsets_kernel(int64_t* off, int64_t m, int64_t k) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i <= m; i += int64_t(gridDim.x) * blockDim.x)
    off[i] = i * k;
}

int to_int(int64_t v, const char* what) {
  AM_CHECK(v <= INT_MAX, NotImplementedError, "cuda knn_flat_search: ", what, " = ", v, " exceeds cuBLAS's int range");
  return int(v);
}

// ip (m, n) = Q (m, d) @ X (n, d)^T, row-major: cuBLAS sees column-major C^T (n, m) = X Q^T.
void scores(cublasHandle_t h, const float* q32, const __half* q16, const void* x, bool half, int64_t m, int64_t n,
            int64_t d, float* ip) {
  if (d == 0) {  // sums of nothing (cuBLAS wants leading dimensions >= 1)
    AM_CUDA_CHECK(cudaMemsetAsync(ip, 0, size_t(m * n) * sizeof(float), 0), "knn_flat_search");
    return;
  }
  const float one = 1, zero = 0;
  const int M = to_int(n, "base tile"), N = to_int(m, "query tile"), K = to_int(d, "d");
  if (half)
    AM_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, M, N, K, &one, x, CUDA_R_16F, K, q16, CUDA_R_16F, K,
                                 &zero, ip, CUDA_R_32F, M, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                    "knn_flat_search");
  else
    AM_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, M, N, K, &one, static_cast<const float*>(x), K, q32, K,
                                &zero, ip, M),
                    "knn_flat_search");
}

}  // namespace

RadixWork::RadixWork(int64_t qt, int64_t k, Device device) {
  for (int i = 0; i < 2; ++i) {
    key[i] = Tensor::empty({qt * k}, DType::Float32, device);
    id[i] = Tensor::empty({qt * k}, DType::Int64, device);
  }
  count = Tensor::empty({qt}, DType::Int64, device);
  bar_key = Tensor::empty({qt}, DType::Float32, device);
  bar_id = Tensor::empty({qt}, DType::Int64, device);
}

void RadixWork::reset(int64_t m) {
  AM_CUDA_CHECK(cudaMemsetAsync(count.data_ptr(), 0, size_t(m) * sizeof(int64_t), 0), "knn");
}

void small_finish(const float* state_key, const int64_t* state_id, int64_t m, int kp, int k, int parts,
                  const float* qn, float* dist, int64_t* ids) {
  if (m == 0) return;
  small_merge_finish<<<unsigned(m), kSmallThreads, small_smem_bytes(kp)>>>(state_key, state_id, kp, k, parts, qn, dist,
                                                                            ids);
  check_launch("knn select");
}

void query_norms(const float* q, int64_t n, int64_t d, float* out) {
  if (n == 0) return;
  query_norms_kernel<<<grid_for(n * 32, kThreads), kThreads>>>(q, n, d, out);
  check_launch("knn query norms");
}

void radix_finish(RadixWork& w, int64_t m, int64_t k, const float* qn, bool l2, float* dist, int64_t* ids,
                  Device device) {
  if (m == 0) return;
  const char* op = "knn select";
  const float* offset = l2 ? qn : nullptr;
  radix_prepare_kernel<<<grid_for(m * k, kThreads), kThreads>>>(w.key[w.cur].data<float>(), w.id[w.cur].data<int64_t>(),
                                                                 w.count.data<int64_t>(), m, k, offset);
  check_launch(op);
  Tensor off = Tensor::empty({m + 1}, DType::Int64, device);
  segment_offsets_kernel<<<grid_for(m + 1, kThreads), kThreads>>>(off.data<int64_t>(), m, k);
  check_launch(op);
  // (key, id) order from two stable sorts: by id, then by key.
  cub::DoubleBuffer<float> keys(w.key[w.cur].data<float>(), w.key[1 - w.cur].data<float>());
  cub::DoubleBuffer<int64_t> idv(w.id[w.cur].data<int64_t>(), w.id[1 - w.cur].data<int64_t>());
  const int64_t* begin = off.data<int64_t>();
  size_t bytes_by_id = 0, bytes_by_key = 0;
  AM_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes_by_id, idv, keys, m * k, m, begin, begin + 1),
                op);
  AM_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(nullptr, bytes_by_key, keys, idv, m * k, m, begin, begin + 1),
                op);
  Tensor temp = Tensor::empty({int64_t(std::max<size_t>({bytes_by_id, bytes_by_key, 1}))}, DType::UInt8, device);
  size_t bytes = size_t(temp.numel());
  AM_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(temp.data_ptr(), bytes, idv, keys, m * k, m, begin, begin + 1),
                op);
  bytes = size_t(temp.numel());
  AM_CUDA_CHECK(cub::DeviceSegmentedSort::StableSortPairs(temp.data_ptr(), bytes, keys, idv, m * k, m, begin, begin + 1),
                op);
  radix_output_kernel<<<grid_for(m * k, kThreads), kThreads>>>(keys.Current(), idv.Current(), m, k, offset, dist, ids);
  check_launch(op);
}

}  // namespace aimass::gpu::knn

namespace aimass {

AIMASS_CUDA_KERNEL(knn_flat_search)(const Tensor& queries, const Tensor& base, const Tensor& base_norms,
                                    const Tensor& base_ids, const Tensor& allowed, KnnMetric metric,
                                    const Tensor& out_dist, const Tensor& out_ids) {
  using namespace aimass::gpu::knn;
  const char* op = "knn_flat_search";
  const int64_t nq = queries.shape()[0], d = queries.shape()[1], nb = base.shape()[0], k = out_dist.shape()[1];
  if (nq == 0) return;
  gpu::DeviceGuard guard(queries.device().index, op);
  const Device device = queries.device();
  const bool l2 = metric == KnnMetric::L2, half = base.dtype() == DType::Float16;
  float* dist = out_dist.data<float>();
  int64_t* ids = out_ids.data<int64_t>();
  if (nb == 0) {
    fill_empty_kernel<<<gpu::knn::grid_for(nq * k, kThreads), kThreads>>>(dist, ids, nq * k, knn_worst_score(metric));
    gpu::check_launch(op);
    return;
  }
  AM_CHECK(k <= INT_MAX, NotImplementedError, "cuda ", op, ": k = ", k, " is too large");

  // Tile sizes (the bounds in the header comment).
  const int64_t bt = std::min(nb, kBaseTile);
  const bool small = k <= kSmallK;
  const int kp = small ? small_kp(k, kSmallThreads) : 0;
  int64_t qt = std::min({nq, kScoreBytes / (bt * 4), kMaxQueryTile});
  if (half && d > 0) qt = std::min(qt, std::max<int64_t>(1, kHalfQueryBytes / (d * 2)));
  qt = std::min(qt, std::max<int64_t>(1, kStateBytes / (small ? int64_t(kp) * 12 : k * 24 + 24)));
  // Parts: enough blocks for the GPU when the query tile is small, each >= kMinPartColumns.
  const int64_t parts =
      small ? std::clamp<int64_t>((kMinBlocks + qt - 1) / qt, 1, std::max<int64_t>(1, bt / kMinPartColumns)) : 1;

  Tensor ip = Tensor::empty({qt * bt}, DType::Float32, device);
  Tensor qn = Tensor::empty({qt}, DType::Float32, device);
  Tensor q16 = half ? Tensor::empty({qt * d}, DType::Float16, device) : Tensor();
  Tensor state_key, state_id;
  std::unique_ptr<RadixWork> work;
  if (small) {
    state_key = Tensor::empty({qt * parts * kp}, DType::Float32, device);
    state_id = Tensor::empty({qt * parts * kp}, DType::Int64, device);
  } else {
    work = std::make_unique<RadixWork>(qt, k, device);
  }
  const size_t smem = small_smem_bytes(kp);
  cublasHandle_t h = gpu::cublas_handle(device.index);
  const float a = l2 ? -2.0f : -1.0f;
  const float* x32 = half ? nullptr : base.data<float>();
  const __half* x16 = half ? static_cast<const __half*>(base.data_ptr()) : nullptr;
  const float* norms = l2 ? base_norms.data<float>() : nullptr;
  const int64_t* row_ids = base_ids.data<int64_t>();
  const bool* ok = allowed.defined() ? allowed.data<bool>() : nullptr;

  for (int64_t q0 = 0; q0 < nq; q0 += qt) {
    const int64_t m = std::min(qt, nq - q0);
    const float* q = queries.data<float>() + q0 * d;
    if (l2) query_norms(q, m, d, qn.data<float>());
    __half* qh = half ? static_cast<__half*>(q16.data_ptr()) : nullptr;
    if (half && m * d > 0) {
      to_half_kernel<<<grid_for(m * d, kThreads), kThreads>>>(q, qh, m * d);
      gpu::check_launch(op);
    }
    if (!small) work->reset(m);
    for (int64_t t0 = 0; t0 < nb; t0 += bt) {
      const int64_t n = std::min(bt, nb - t0);
      const void* x = half ? static_cast<const void*>(x16 + t0 * d) : static_cast<const void*>(x32 + t0 * d);
      scores(h, q, qh, x, half, m, n, d, ip.data<float>());
      const ScoreRow tile{ip.data<float>(), norms ? norms + t0 : nullptr, row_ids + t0, ok ? ok + t0 : nullptr, a};
      if (small) {
        flat_small_fold<<<dim3(unsigned(m), unsigned(parts)), kSmallThreads, smem>>>(
            tile, n, state_key.data<float>(), state_id.data<int64_t>(), kp, int(k), int(parts), t0 == 0);
      } else {
        flat_radix_fold<<<unsigned(m), kRadixThreads>>>(tile, n, work->lists(k));
        work->swap();
      }
      gpu::check_launch(op);
    }
    if (small) {
      small_finish(state_key.data<float>(), state_id.data<int64_t>(), m, kp, int(k), int(parts),
                   l2 ? qn.data<float>() : nullptr, dist + q0 * k, ids + q0 * k);
    } else {
      radix_finish(*work, m, k, qn.data<float>(), l2, dist + q0 * k, ids + q0 * k, device);
    }
  }
}

}  // namespace aimass
