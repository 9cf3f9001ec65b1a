// out[b] = a[b] @ b[b]. a: (B, M, K), b: (B, K, N), out: (B, M, N) contiguous, one dtype. a and
// b may have batch stride 0 and each has unit stride in one of its last two dims.
// Floats go to cuBLAS with full-precision math: float32 -> Sgemm (CUBLAS_DEFAULT_MATH, so no
// TF32), float64 -> Dgemm, float16 / bfloat16 -> GemmEx accumulating in float32. Integers go
// to a tiled shared-memory kernel accumulating in 64 bits (wrapping, as NumPy).
// cuBLAS is column-major: a row-major (M, N) C is a column-major (N, M) C^T, so we compute
// C^T = B^T A^T, reading each row-major operand as its column-major transpose.
#include <climits>
#include <mutex>
#include <unordered_map>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda/cuda_check.h"
#include "ops/cuda/cublas_handle.cuh"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/linalg.h"

namespace aimass::gpu {

cublasHandle_t cublas_handle(int device) {
  static std::mutex mutex;
  static std::unordered_map<int, cublasHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasHandle_t handle = nullptr;
  AM_CUBLAS_CHECK(cublasCreate(&handle), "cublas");
  AM_CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublas");  // no TF32
  handles.emplace(device, handle);
  return handle;
}

namespace {

// How cuBLAS reads the transpose of a row-major-indexed (rows, cols) matrix with strides
// (rs, cs): unit column stride -> it already is a column-major (cols, rows) matrix, no
// transpose; unit row stride -> it is a column-major (rows, cols) matrix, transpose it.
struct BlasOperand {
  cublasOperation_t op;
  int ld;
};

int to_int(int64_t v, const char* what) {
  AM_CHECK(v <= INT_MAX, NotImplementedError, "cuda matmul: ", what, " = ", v, " exceeds cuBLAS's int range");
  return int(v);
}

BlasOperand blas_operand(const Tensor& x, const char* name) {
  int64_t rows = x.shape()[1], cols = x.shape()[2], rs = x.strides()[1], cs = x.strides()[2];
  if (cs == 1 && rs >= std::max<int64_t>(cols, 1)) return {CUBLAS_OP_N, to_int(rs, "leading dimension")};
  if (rs == 1 && cs >= std::max<int64_t>(rows, 1)) return {CUBLAS_OP_T, to_int(cs, "leading dimension")};
  throw RuntimeError(str_cat("cuda matmul: operand ", name, " ", x.describe(), " with strides ", x.strides(),
                             " has no unit stride in its last two dims"));
}

// C tile (16 x 16) of one batch per block; int64 tiles in shared memory, uint64 (wrapping) sums.
constexpr int kTile = 16;

template <typename T>
__global__ void integer_matmul_kernel(const T* a, const T* b, T* out, int64_t B, int64_t M, int64_t N, int64_t K,
                                      int64_t a_sb, int64_t a_sm, int64_t a_sk, int64_t b_sb, int64_t b_sk,
                                      int64_t b_sn) {
  __shared__ int64_t a_tile[kTile][kTile + 1];
  __shared__ int64_t b_tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t m_tiles = (M + kTile - 1) / kTile;
  for (int64_t batch = blockIdx.z; batch < B; batch += gridDim.z) {
    for (int64_t mt = blockIdx.y; mt < m_tiles; mt += gridDim.y) {
      const int64_t m = mt * kTile + ty, n = int64_t(blockIdx.x) * kTile + tx;
      uint64_t acc = 0;
      for (int64_t k0 = 0; k0 < K; k0 += kTile) {
        a_tile[ty][tx] = (m < M && k0 + tx < K) ? int64_t(a[batch * a_sb + m * a_sm + (k0 + tx) * a_sk]) : 0;
        b_tile[ty][tx] = (k0 + ty < K && n < N) ? int64_t(b[batch * b_sb + (k0 + ty) * b_sk + n * b_sn]) : 0;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTile; ++kk) acc += uint64_t(a_tile[ty][kk]) * uint64_t(b_tile[kk][tx]);
        __syncthreads();
      }
      if (m < M && n < N) out[(batch * M + m) * N + n] = convert<T>(int64_t(acc));
    }
  }
}

template <typename T>
void integer_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t B = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
  AM_CHECK((N + kTile - 1) / kTile <= INT_MAX, NotImplementedError, "cuda matmul: N = ", N, " is too large");
  dim3 block(kTile, kTile);
  dim3 grid(unsigned((N + kTile - 1) / kTile), unsigned(std::min<int64_t>((M + kTile - 1) / kTile, 65535)),
            unsigned(std::min<int64_t>(B, 65535)));
  integer_matmul_kernel<T><<<grid, block>>>(a.data<T>(), b.data<T>(), out.data<T>(), B, M, N, K, a.strides()[0],
                                            a.strides()[1], a.strides()[2], b.strides()[0], b.strides()[1],
                                            b.strides()[2]);
  check_launch("matmul");
}

void blas_matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t B = a.shape()[0], M = a.shape()[1], K = a.shape()[2], N = b.shape()[2];
  const int m = to_int(N, "N"), n = to_int(M, "M"), k = to_int(K, "K"), batch = to_int(B, "batch");
  const BlasOperand opa = blas_operand(a, "a"), opb = blas_operand(b, "b");
  const long long sa = a.strides()[0], sb = b.strides()[0], sc = M * N;
  cublasHandle_t h = cublas_handle(out.device().index);
  switch (out.dtype()) {
    case DType::Float32: {
      const float one = 1, zero = 0;
      AM_CUBLAS_CHECK(cublasSgemmStridedBatched(h, opb.op, opa.op, m, n, k, &one, b.data<float>(), opb.ld, sb,
                                                a.data<float>(), opa.ld, sa, &zero, out.data<float>(), m, sc, batch),
                      "matmul");
      break;
    }
    case DType::Float64: {
      const double one = 1, zero = 0;
      AM_CUBLAS_CHECK(cublasDgemmStridedBatched(h, opb.op, opa.op, m, n, k, &one, b.data<double>(), opb.ld, sb,
                                                a.data<double>(), opa.ld, sa, &zero, out.data<double>(), m, sc,
                                                batch),
                      "matmul");
      break;
    }
    default: {  // float16, bfloat16: storage type in, float32 accumulation
      const cudaDataType_t type = out.dtype() == DType::Float16 ? CUDA_R_16F : CUDA_R_16BF;
      const float one = 1, zero = 0;
      AM_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, opb.op, opa.op, m, n, k, &one, b.data_ptr(), type, opb.ld, sb,
                                                 a.data_ptr(), type, opa.ld, sa, &zero, out.data_ptr(), type, m, sc,
                                                 batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                      "matmul");
      break;
    }
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(matmul)(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (out.numel() == 0) return;
  gpu::DeviceGuard guard(out.device().index, "matmul");
  if (a.shape()[2] == 0) {  // empty inner dimension: a sum of nothing
    AM_CUDA_CHECK(cudaMemsetAsync(out.data_ptr(), 0, out.nbytes(), 0), "matmul");
    return;
  }
  if (is_floating(out.dtype())) {
    gpu::blas_matmul(a, b, out);
    return;
  }
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) gpu::integer_matmul<T>(a, b, out);
  });
}

}  // namespace aimass
