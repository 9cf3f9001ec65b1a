// Weight-only int8 / int4 GEMM on CUDA (contract: ops/kernels/quant.h; format and CPU reference:
// quant/weight_only.h): out (M, N) = x (M, K) @ dequant(q, scales)^T + bias, ReLU when asked.
//   M <= 16  (memory-bound: the weights' bytes set the time) one warp per output column n: the
//            lanes read 4 bytes each of q's row n side by side (4 int8 or 8 int4 weights, in one
//            group), dequantise them in registers with the group's fp16 scale and accumulate
//            x[m] . w in float32 for every row m, x read 4 floats a load where aligned; the 32
//            lanes' sums are then added by shuffles. x is never read past K (the weights there
//            are the format's zero padding).
//   M > 16   tiles of output channels dequantised to float32 (<= 64 MiB a tile), each one
//            cuBLAS SGEMM (full float32, no TF32: cublas_handle), then one bias / ReLU pass.
// The int4 layout: byte i of a group holds element i in its low nibble and i + group/2 in its high.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "core/dtype.h"
#include "cuda/cuda_check.h"
#include "ops/cuda/cublas_handle.cuh"
#include "ops/kernels/quant.h"

namespace aimass::gpu {
namespace {

constexpr int kWarps = 4;                  // output columns per block of the GEMV
constexpr int kThreads = 256;              // the elementwise kernels
constexpr int64_t kMaxRows = 16;           // the GEMV's batch limit
constexpr int64_t kTileBytes = int64_t(64) << 20;

unsigned grid_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

#define GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

struct WoShape {
  int64_t m, n, k, group, groups, row_bytes;
  int bits;
  bool vec_x;  // x rows start 16-byte aligned (K % 4 == 0, aligned base): 4 floats in one load
};

// v[0..3] = x[e .. e + 3] of one row (e a multiple of 4), zeros past K (the weights there are the
// format's zero padding; x must not be read there).
__device__ __forceinline__ void load_x4(const float* xr, int64_t e, const WoShape& s, float* v) {
  if (s.vec_x && e + 4 <= s.k) {
    const float4 f = *reinterpret_cast<const float4*>(xr + e);
    v[0] = f.x;
    v[1] = f.y;
    v[2] = f.z;
    v[3] = f.w;
  } else {
#pragma unroll
    for (int t = 0; t < 4; ++t) v[t] = e + t < s.k ? xr[e + t] : 0.0f;
  }
}

// acc[r] += x[r][e0 .. e0 + 3] . w[0..3] for the s.m <= kRows real rows.
template <int kRows>
__device__ __forceinline__ void fma_rows(const float* x, const WoShape& s, int64_t e0, const float* w, float* acc) {
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    if (r >= s.m) break;
    float v[4];
    load_x4(x + r * s.k, e0, s, v);
#pragma unroll
    for (int t = 0; t < 4; ++t) acc[r] = fmaf(v[t], w[t], acc[r]);
  }
}

// One warp per output column n = blockIdx.x * kWarps + warp; blockDim.x == 32 * kWarps. Lane l
// takes the 4 bytes at b = 4 l + 128 i of q's row: the warp reads 128 contiguous bytes of the
// row at a time, and 512 contiguous bytes of each x row. 4 bytes never straddle a group (a
// group's bytes, group or group / 2, are multiples of 16): one scale for them.
//   int8: weights e = b .. b + 3;
//   int4: in group g = b / (group / 2) at byte j0 = b % (group / 2): the low nibbles are weights
//         g * group + j0 + t, the high nibbles those group / 2 further on.
template <int kRows>
__global__ void __launch_bounds__(32 * kWarps) wo_gemv_kernel(const float* x, const uint8_t* q, const uint16_t* scales,
                                                              WoShape s, const float* bias, bool relu, float* out) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t n = int64_t(blockIdx.x) * kWarps + warp;
  if (n >= s.n) return;  // the whole warp: no shuffle below is left half-empty
  const uint8_t* row = q + n * s.row_bytes;
  const int64_t group_bytes = s.group * s.bits / 8, half = s.group / 2;
  float acc[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r) acc[r] = 0.0f;
  for (int64_t b = int64_t(lane) * 4; b < s.row_bytes; b += 32 * 4) {
    const uint32_t word = *reinterpret_cast<const uint32_t*>(row + b);  // 4-aligned: row_bytes % 16 == 0
    const float d = Half::to_float(scales[n * s.groups + b / group_bytes]);
    if (s.bits == 8) {
      float w[4];
#pragma unroll
      for (int t = 0; t < 4; ++t) w[t] = float(int8_t(uint8_t(word >> (8 * t)))) * d;
      fma_rows<kRows>(x, s, b, w, acc);
    } else {
      float lo[4], hi[4];
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        const uint32_t byte = (word >> (8 * t)) & 0xffu;
        lo[t] = float(int(byte & 0xfu) - 8) * d;
        hi[t] = float(int(byte >> 4) - 8) * d;
      }
      const int64_t lo0 = b / half * s.group + b % half;
      fma_rows<kRows>(x, s, lo0, lo, acc);
      fma_rows<kRows>(x, s, lo0 + half, hi, acc);
    }
  }
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    float v = acc[r];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0 && r < s.m) {
      if (bias) v += bias[n];
      out[r * s.n + n] = relu ? (v < 0.0f ? 0.0f : v) : v;
    }
  }
}

template <int kRows>
void launch_gemv(const float* x, const uint8_t* q, const uint16_t* scales, const WoShape& s, const float* bias,
                 bool relu, float* out) {
  const unsigned blocks = unsigned((s.n + kWarps - 1) / kWarps);
  wo_gemv_kernel<kRows><<<blocks, 32 * kWarps>>>(x, q, scales, s, bias, relu, out);
}

// tile (rows, k) float32 = the dequantised rows [n0, n0 + rows) of the weights.
__global__ void wo_dequantize_kernel(const uint8_t* q, const uint16_t* scales, WoShape s, int64_t n0, int64_t rows,
                                     float* tile) {
  GRID_STRIDE(i, rows * s.k) {
    const int64_t n = n0 + i / s.k, e = i % s.k, g = e / s.group;
    const float d = Half::to_float(scales[n * s.groups + g]);
    const uint8_t* row = q + n * s.row_bytes;
    float v;
    if (s.bits == 8) {
      v = float(int8_t(row[e])) * d;
    } else {
      const int64_t half = s.group / 2, local = e % s.group;
      const uint8_t byte = row[g * half + local % half];
      v = float(int(local < half ? (byte & 0xf) : (byte >> 4)) - 8) * d;
    }
    tile[i] = v;
  }
}

__global__ void bias_relu_kernel(float* out, int64_t m, int64_t n, const float* bias, bool relu) {
  GRID_STRIDE(i, m * n) {
    float v = out[i];
    if (bias) v += bias[i % n];
    out[i] = relu ? (v < 0.0f ? 0.0f : v) : v;
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(weight_only_gemm)(const Tensor& x, const Tensor& q, const Tensor& scales, int64_t k, int64_t group,
                                     int bits, const Tensor& bias, bool relu, const Tensor& out) {
  const int64_t m = x.size(0), n = q.size(0);
  if (m == 0 || n == 0) return;
  gpu::DeviceGuard guard(out.device().index, "weight_only_gemm");
  AM_CHECK(reinterpret_cast<uintptr_t>(q.data_ptr()) % 4 == 0, ValueError,
           "cuda weight_only_gemm: q must be 4-byte aligned, got ", q.describe());
  const float* xp = x.data<float>();
  const bool vec_x = k % 4 == 0 && reinterpret_cast<uintptr_t>(xp) % 16 == 0;
  gpu::WoShape s{m, n, k, group, scales.size(1), q.size(1), bits, vec_x};
  const uint8_t* qp = static_cast<const uint8_t*>(q.data_ptr());
  const uint16_t* sp = static_cast<const uint16_t*>(scales.data_ptr());
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* yp = out.data<float>();
  if (m <= gpu::kMaxRows) {
    if (m == 1) gpu::launch_gemv<1>(xp, qp, sp, s, bp, relu, yp);
    else if (m <= 2) gpu::launch_gemv<2>(xp, qp, sp, s, bp, relu, yp);
    else if (m <= 4) gpu::launch_gemv<4>(xp, qp, sp, s, bp, relu, yp);
    else if (m <= 8) gpu::launch_gemv<8>(xp, qp, sp, s, bp, relu, yp);
    else gpu::launch_gemv<16>(xp, qp, sp, s, bp, relu, yp);
    gpu::check_launch("weight_only_gemm");
    return;
  }
  AM_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX, NotImplementedError, "cuda weight_only_gemm: (", m, ", ", n,
           ", ", k, ") exceeds cuBLAS's int range");
  const int64_t tile_rows = std::max<int64_t>(1, std::min<int64_t>(n, gpu::kTileBytes / (k * int64_t(sizeof(float)))));
  Tensor tile = Tensor::empty({tile_rows, k}, DType::Float32, out.device());
  cublasHandle_t h = gpu::cublas_handle(out.device().index);
  const float one = 1.0f, zero = 0.0f;
  for (int64_t n0 = 0; n0 < n; n0 += tile_rows) {
    const int64_t rows = std::min(tile_rows, n - n0);
    gpu::wo_dequantize_kernel<<<gpu::grid_for(rows * k), gpu::kThreads>>>(qp, sp, s, n0, rows, tile.data<float>());
    gpu::check_launch("weight_only_gemm");
    // out[:, n0:n0+rows]: column-major (rows, M) with ld N = tile^T (rows, K) x x^T (K, M).
    AM_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, int(rows), int(m), int(k), &one, tile.data<float>(),
                                int(k), xp, int(k), &zero, yp + n0, int(n)),
                    "weight_only_gemm");
  }
  if (bp || relu) gpu::bias_relu_kernel<<<gpu::grid_for(m * n), gpu::kThreads>>>(yp, m, n, bp, relu);
  gpu::check_launch("weight_only_gemm");
}

}  // namespace aimass
