// The int8 inference kernels on CUDA (contracts: ops/kernels/quant.h; CPU reference:
// ops/cpu/quant.cpp, i.e. csrc/quant):
//   quantize_u8   x float32 (M, K) -> u8 (or u8 - 128 as int8) (M, Kp): per row (one block a row:
//                 min / max, then the bytes) or with one (scale, zero); the same float operations
//                 as quant/quantize.cpp (x * (1 / scale), round half to even), so the same bytes.
//   int8_im2col   x float32 (N, C, H, W) -> cols int8 (N * OH * OW, Kp), quantised as it gathers.
//   int8_gemm     acc_s8 (M, Np) int32 = a (M, Kp) s8 x w (Np, Kp) s8 ^ T through cuBLASLt's
//                 IMMA path for row/column-major int8 (Ampere / Hopper: "TN", m and k multiples of
//                 4, leading dimensions multiples of 4, 4-byte aligned pointers; the op layer pads
//                 K and N); where cuBLASLt finds no algorithm (or AIMASS_CUDA_INT8_GEMM=dp4a), a
//                 shared-memory tiled __dp4a kernel (AIMASS_CUDA_INT8_GEMM=cublaslt: no fallback). Then our epilogue: acc_u8 = acc_s8 +
//                 128 * col_sum (a is the u8 activations minus 128), and quant/int8_gemm.h's
//                 dequantisation / requantisation, bit for bit (explicit _rn intrinsics: no FMA
//                 contraction, as the CPU is compiled with -ffp-contract=off).
// All on the default stream, as the other kernels here.
#include <cublasLt.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "cuda/cuda_check.h"
#include "ops/kernels/quant.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

unsigned grid_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

#define GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// q = clamp(round_half_even(x * inv) + zero, 0, 255), NaN -> 0 (fmaxf drops the NaN), as
// quant/quantize.cpp's to_u8.
__device__ __forceinline__ uint8_t to_u8(float x, float inv, int32_t zero) {
  const float r = __fadd_rn(rintf(__fmul_rn(x, inv)), float(zero));
  return uint8_t(fminf(255.0f, fmaxf(0.0f, r)));
}

// ---------------------------------------------------------------- quantize_u8

// One block per row (grid-stride over rows): the range of x[r] with 0 in it, then the bytes.
// blockDim.x == kThreads. flip: 0x80 for the int8 form, 0 for u8.
__global__ void __launch_bounds__(kThreads) quantize_rows_kernel(const float* x, int64_t m, int64_t k, int64_t kp,
                                                                 uint8_t flip, uint8_t* q, float* scale_out,
                                                                 int32_t* zero_out) {
  __shared__ float lo_s[kThreads / 32], hi_s[kThreads / 32], bad_s[kThreads / 32];
  __shared__ float row_scale, row_inv;
  __shared__ int32_t row_zero;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t r = blockIdx.x; r < m; r += gridDim.x) {
    const float* row = x + r * k;
    float lo = 0.0f, hi = 0.0f, bad = 0.0f;
    for (int64_t j = threadIdx.x; j < k; j += kThreads) {
      const float v = row[j];
      if (!isfinite(v)) bad = 1.0f;
      lo = fminf(lo, v);
      hi = fmaxf(hi, v);
    }
    for (int o = 16; o > 0; o >>= 1) {
      lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, o));
      hi = fmaxf(hi, __shfl_xor_sync(0xffffffffu, hi, o));
      bad = fmaxf(bad, __shfl_xor_sync(0xffffffffu, bad, o));
    }
    if (lane == 0) {
      lo_s[warp] = lo;
      hi_s[warp] = hi;
      bad_s[warp] = bad;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kThreads / 32; ++w) {
        lo = fminf(lo, lo_s[w]);
        hi = fmaxf(hi, hi_s[w]);
        bad = fmaxf(bad, bad_s[w]);
      }
      if (bad != 0.0f) {  // a NaN or +-inf: scale NaN, zero 0, bytes 0 (quantize_rows_u8)
        row_scale = __int_as_float(0x7fc00000);
        row_zero = 0;
        row_inv = 0.0f;
      } else {
        float s = __fdiv_rn(__fsub_rn(hi, lo), 255.0f);
        if (!(s > 0.0f)) s = 1.0f;
        int32_t z = int32_t(rintf(__fdiv_rn(-lo, s)));
        z = z < 0 ? 0 : (z > 255 ? 255 : z);
        row_scale = s;
        row_zero = z;
        row_inv = __fdiv_rn(1.0f, s);
      }
      scale_out[r] = row_scale;
      zero_out[r] = row_zero;
    }
    __syncthreads();
    const float inv = row_inv;
    const int32_t z = row_zero;
    const bool nonfinite = row_scale != row_scale;
    uint8_t* out = q + r * kp;
    for (int64_t j = threadIdx.x; j < kp; j += kThreads) {
      const uint8_t b = nonfinite ? uint8_t(0) : (j < k ? to_u8(row[j], inv, z) : uint8_t(z));
      out[j] = b ^ flip;
    }
    __syncthreads();  // the shared row values are rewritten by the next row
  }
}

// Every element with the one (scale[0], zero[0]); columns past k the zero point.
__global__ void quantize_static_kernel(const float* x, int64_t m, int64_t k, int64_t kp, const float* scale,
                                       const int32_t* zero, uint8_t flip, uint8_t* q) {
  const float inv = __fdiv_rn(1.0f, scale[0]);
  const int32_t z = zero[0];
  GRID_STRIDE(i, m * kp) {
    const int64_t r = i / kp, j = i % kp;
    const uint8_t b = j < k ? to_u8(x[r * k + j], inv, z) : uint8_t(z);
    q[i] = b ^ flip;
  }
}

// ---------------------------------------------------------------- int8_im2col

// cols (rows, kp), row = (image, oy, ox), column (c, ky, kx); the zero point where the window
// leaves the image or past c * kh * kw. u8 values minus 128 (int8_gemm's form).
struct Im2colShape {
  int64_t c, h, w, kh, kw, oh, ow, kp;
  int64_t stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w;
};

__global__ void im2col_kernel(const float* x, int64_t rows, Im2colShape s, float inv, int32_t zero, uint8_t* cols) {
  const int64_t ckk = s.c * s.kh * s.kw;
  GRID_STRIDE(i, rows * s.kp) {
    const int64_t r = i / s.kp, col = i % s.kp;
    uint8_t b = uint8_t(zero);
    if (col < ckk) {
      const int64_t img = r / (s.oh * s.ow), pix = r % (s.oh * s.ow), oy = pix / s.ow, ox = pix % s.ow;
      const int64_t ch = col / (s.kh * s.kw), ky = col / s.kw % s.kh, kx = col % s.kw;
      const int64_t iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
      const int64_t ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
      if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) b = to_u8(x[((img * s.c + ch) * s.h + iy) * s.w + ix], inv, zero);
    }
    cols[i] = b ^ uint8_t(0x80);
  }
}

// ---------------------------------------------------------------- int8_gemm: the s8 x s8 GEMM

void check_lt(cublasStatus_t status, const char* call) { check_cublas(status, "int8_gemm", call); }
#define AM_LT_CHECK(expr) check_lt((expr), #expr)

cublasLtHandle_t lt_handle(int device) {
  static std::mutex mutex;
  static std::unordered_map<int, cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasLtHandle_t handle = nullptr;
  AM_LT_CHECK(cublasLtCreate(&handle));
  handles.emplace(device, handle);
  return handle;
}

int to_int(int64_t v, const char* what) {
  AM_CHECK(v <= INT_MAX, NotImplementedError, "cuda int8_gemm: ", what, " = ", v, " exceeds cuBLAS's int range");
  return int(v);
}

// acc (M, Np) = a (M, Kp) x w (Np, Kp)^T through cuBLASLt. Column-major, as cuBLAS sees it:
// acc^T (Np, M) = w^T (op T of the column-major (Kp, Np)) x a^T (the column-major (Kp, M)): the
// "TN" form IMMA takes. False when cuBLASLt has no algorithm for it.
bool lt_int8_gemm(const Tensor& a, const Tensor& w, const Tensor& acc) {
  const int64_t M = a.size(0), Kp = a.size(1), Np = w.size(0);
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a_layout = nullptr, b_layout = nullptr, c_layout = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  bool found = false;
  auto destroy = [&] {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c_layout) cublasLtMatrixLayoutDestroy(c_layout);
    if (b_layout) cublasLtMatrixLayoutDestroy(b_layout);
    if (a_layout) cublasLtMatrixLayoutDestroy(a_layout);
    if (desc) cublasLtMatmulDescDestroy(desc);
  };
  try {
    AM_LT_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32I, CUDA_R_32I));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
    AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
    const int n_rows = to_int(Np, "N"), m_cols = to_int(M, "M"), k = to_int(Kp, "K");
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&a_layout, CUDA_R_8I, uint64_t(k), uint64_t(n_rows), k));
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&b_layout, CUDA_R_8I, uint64_t(k), uint64_t(m_cols), k));
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&c_layout, CUDA_R_32I, uint64_t(n_rows), uint64_t(m_cols), n_rows));
    AM_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const size_t ws_bytes = kWorkspaceBytes;
    AM_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                     sizeof(ws_bytes)));
    cublasLtMatmulHeuristicResult_t heuristic = {};
    int results = 0;
    cublasLtHandle_t h = lt_handle(acc.device().index);
    if (cublasLtMatmulAlgoGetHeuristic(h, desc, a_layout, b_layout, c_layout, c_layout, pref, 1, &heuristic,
                                       &results) == CUBLAS_STATUS_SUCCESS &&
        results > 0) {
      Tensor workspace;
      if (heuristic.workspaceSize)
        workspace = Tensor::empty({int64_t(heuristic.workspaceSize)}, DType::UInt8, acc.device());
      const int32_t one = 1, zero = 0;
      const cublasStatus_t status =
          cublasLtMatmul(h, desc, &one, w.data_ptr(), a_layout, a.data_ptr(), b_layout, &zero, acc.data_ptr(), c_layout,
                         acc.data_ptr(), c_layout, &heuristic.algo,
                         heuristic.workspaceSize ? workspace.data_ptr() : nullptr, heuristic.workspaceSize, 0);
      // An algorithm offered but then refused (a layout rule we missed): the dp4a kernel instead.
      if (status != CUBLAS_STATUS_NOT_SUPPORTED) {
        check_lt(status, "cublasLtMatmul");
        found = true;
      }
    }
  } catch (...) {
    destroy();
    throw;
  }
  destroy();
  return found;
}

// The fallback: acc (M, Np) int32 of a (M, K4 words) x w (Np, K4 words)^T, 4 s8 per 32-bit word.
// A block (32, 8) computes a 32 x 32 tile of acc: thread (tx, ty) the column n0 + tx and the
// rows m0 + ty + 8 i, i < 4, through 32-word k tiles of a and w staged in shared memory (rows
// padded to 33 words: w's reads down a column hit 32 banks).
constexpr int kTile = 32;
__global__ void __launch_bounds__(kTile * 8) dp4a_gemm_kernel(const int* a, const int* w, int64_t m, int64_t np,
                                                              int64_t k4, int32_t* acc) {
  __shared__ int as[kTile][kTile + 1], ws[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t m0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
  int sum[4] = {0, 0, 0, 0};
  for (int64_t kt = 0; kt < k4; kt += kTile) {
    for (int r = ty; r < kTile; r += 8) {
      const bool kin = kt + tx < k4;
      as[r][tx] = kin && m0 + r < m ? a[(m0 + r) * k4 + kt + tx] : 0;
      ws[r][tx] = kin && n0 + r < np ? w[(n0 + r) * k4 + kt + tx] : 0;
    }
    __syncthreads();
    for (int kk = 0; kk < kTile; ++kk) {
      const int wv = ws[tx][kk];
      for (int i = 0; i < 4; ++i) sum[i] = __dp4a(as[ty + 8 * i][kk], wv, sum[i]);
    }
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i) {
    const int64_t r = m0 + ty + 8 * i, c = n0 + tx;
    if (r < m && c < np) acc[r * np + c] = sum[i];
  }
}

// AIMASS_CUDA_INT8_GEMM (read on every call, for tests): "dp4a" takes the fallback kernel;
// "cublaslt" requires cuBLASLt (RuntimeError where it offers no algorithm); unset: cuBLASLt, else
// the fallback.
enum class GemmPath { Auto, Dp4a, CublasLt };
GemmPath gemm_path() {
  const char* v = std::getenv("AIMASS_CUDA_INT8_GEMM");
  if (v && std::strcmp(v, "dp4a") == 0) return GemmPath::Dp4a;
  if (v && std::strcmp(v, "cublaslt") == 0) return GemmPath::CublasLt;
  return GemmPath::Auto;
}

// ---------------------------------------------------------------- int8_gemm: the epilogue

enum class OutKind { S32, F32, U8 };

// out (M, N) from acc_s8 (M, Np): see the top of the file and quant/int8_gemm.h.
__global__ void epilogue_kernel(const int32_t* acc, int64_t m, int64_t n, int64_t np, const int32_t* col_sum,
                                const float* a_scale, const int32_t* a_zero, bool a_per_row, const float* w_scale,
                                const float* bias, bool relu, OutKind kind, float inv_out_scale, int32_t out_zero,
                                void* out) {
  GRID_STRIDE(i, m * n) {
    const int64_t r = i / n, c = i % n;
    const int32_t s8 = acc[r * np + c], cs = col_sum[c];
    if (kind == OutKind::S32) {
      static_cast<int32_t*>(out)[i] = s8 + 128 * cs;  // sum_k a_u8 * w
      continue;
    }
    const int64_t ai = a_per_row ? r : 0;
    // acc_u8 - a_zero * cs, with acc_u8 = s8 + 128 * cs, in one step (the same int32 value).
    const int32_t centred = s8 + (128 - a_zero[ai]) * cs;
    float v = __fmul_rn(__int2float_rn(centred), __fmul_rn(a_scale[ai], w_scale[c]));
    if (bias) v = __fadd_rn(v, bias[c]);
    if (relu) v = v < 0.0f ? 0.0f : v;  // std::max(v, 0.0f): NaN and -0 kept
    if (kind == OutKind::F32) {
      static_cast<float*>(out)[i] = v;
    } else {
      const float qv = __fadd_rn(rintf(__fmul_rn(v, inv_out_scale)), float(out_zero));
      static_cast<uint8_t*>(out)[i] = uint8_t(fminf(255.0f, fmaxf(0.0f, qv)));
    }
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(quantize_u8)(const Tensor& x, const Tensor& scale, const Tensor& zero, bool per_row,
                                const Tensor& q) {
  const int64_t m = x.size(0), k = x.size(1), kp = q.size(1);
  if (m == 0) return;
  gpu::DeviceGuard guard(q.device().index, "quantize_u8");
  const uint8_t flip = q.dtype() == DType::Int8 ? 0x80 : 0;
  uint8_t* out = static_cast<uint8_t*>(q.data_ptr());
  if (per_row) {
    const unsigned grid = unsigned(m < 65536 ? m : 65536);
    gpu::quantize_rows_kernel<<<grid, gpu::kThreads>>>(x.data<float>(), m, k, kp, flip, out, scale.data<float>(),
                                                       zero.data<int32_t>());
  } else {
    gpu::quantize_static_kernel<<<gpu::grid_for(m * kp), gpu::kThreads>>>(x.data<float>(), m, k, kp,
                                                                         scale.data<float>(), zero.data<int32_t>(),
                                                                         flip, out);
  }
  gpu::check_launch("quantize_u8");
}

AIMASS_CUDA_KERNEL(int8_im2col)(const Tensor& x, int64_t kh, int64_t kw, const Conv2dParams& p, float scale,
                                int32_t zero, const Tensor& cols) {
  const int64_t rows = cols.size(0);
  if (rows == 0) return;
  gpu::DeviceGuard guard(cols.device().index, "int8_im2col");
  gpu::Im2colShape s;
  s.c = x.size(1);
  s.h = x.size(2);
  s.w = x.size(3);
  s.kh = kh;
  s.kw = kw;
  s.oh = (s.h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  s.ow = (s.w + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  s.kp = cols.size(1);
  s.stride_h = p.stride_h;
  s.stride_w = p.stride_w;
  s.pad_top = p.pad_top;
  s.pad_left = p.pad_left;
  s.dilation_h = p.dilation_h;
  s.dilation_w = p.dilation_w;
  const float inv = 1.0f / scale;  // as quantize_u8 on the CPU
  gpu::im2col_kernel<<<gpu::grid_for(rows * s.kp), gpu::kThreads>>>(x.data<float>(), rows, s, inv, zero,
                                                                    static_cast<uint8_t*>(cols.data_ptr()));
  gpu::check_launch("int8_im2col");
}

AIMASS_CUDA_KERNEL(int8_gemm)(const Tensor& a, const Tensor& w, const Tensor& col_sum, const Tensor& a_scale,
                              const Tensor& a_zero, const Tensor& w_scale, const Tensor& bias, bool relu,
                              float out_scale, int32_t out_zero, const Tensor& out) {
  const int64_t m = a.size(0), kp = a.size(1), np = w.size(0), n = out.size(1);
  if (m == 0 || n == 0) return;
  gpu::DeviceGuard guard(out.device().index, "int8_gemm");
  Tensor acc = Tensor::empty({m, np}, DType::Int32, out.device());
  const gpu::GemmPath path = gpu::gemm_path();
  if (path == gpu::GemmPath::Dp4a || !gpu::lt_int8_gemm(a, w, acc)) {
    AM_CHECK(path != gpu::GemmPath::CublasLt, RuntimeError, "cuda int8_gemm: cuBLASLt has no int8 algorithm for (M, N, K) = (",
             m, ", ", np, ", ", kp, ") and AIMASS_CUDA_INT8_GEMM=cublaslt requires one");
    const dim3 grid(unsigned((np + gpu::kTile - 1) / gpu::kTile), unsigned((m + gpu::kTile - 1) / gpu::kTile));
    AM_CHECK(grid.y <= 65535, NotImplementedError, "cuda int8_gemm: M = ", m, " rows exceed one launch");
    gpu::dp4a_gemm_kernel<<<grid, dim3(gpu::kTile, 8)>>>(static_cast<const int*>(a.data_ptr()),
                                                         static_cast<const int*>(w.data_ptr()), m, np, kp / 4,
                                                         acc.data<int32_t>());
    gpu::check_launch("int8_gemm");
  }
  const gpu::OutKind kind = out.dtype() == DType::Int32   ? gpu::OutKind::S32
                            : out.dtype() == DType::UInt8 ? gpu::OutKind::U8
                                                          : gpu::OutKind::F32;
  const bool s32 = kind == gpu::OutKind::S32;
  gpu::epilogue_kernel<<<gpu::grid_for(m * n), gpu::kThreads>>>(
      acc.data<int32_t>(), m, n, np, col_sum.data<int32_t>(), s32 ? nullptr : a_scale.data<float>(),
      s32 ? nullptr : a_zero.data<int32_t>(), !s32 && a_scale.numel() != 1, s32 ? nullptr : w_scale.data<float>(),
      bias.defined() ? bias.data<float>() : nullptr, relu, kind, kind == gpu::OutKind::U8 ? 1.0f / out_scale : 1.0f,
      out_zero, out.data_ptr());
  gpu::check_launch("int8_gemm");
}

}  // namespace aimass
