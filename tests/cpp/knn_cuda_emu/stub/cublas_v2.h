// cuBLAS emulation: column-major GEMM by the documented semantics, float accumulation.
#pragma once
#include "cuda_runtime.h"
#include "cuda_fp16.h"
typedef struct EmuHandle* cublasHandle_t;
typedef enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15 } cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUDA_R_32F = 0, CUDA_R_16F = 2 } cudaDataType_t;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
inline const char* cublasGetStatusName(cublasStatus_t) { return "emu"; }
inline const char* cublasGetStatusString(cublasStatus_t) { return "emu"; }
inline long emu_gemms = 0;
template <typename A, typename B>
cublasStatus_t emu_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const A* a,
                        int lda, const B* b, int ldb, float beta, float* c, int ldc) {
  // op(A) is m x k, op(B) is k x n, C m x n; X(r, c) = X[r + c * ld].
  if (m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k) || ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m))
    return CUBLAS_STATUS_INVALID_VALUE;
  ++emu_gemms;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0;  // float accumulation, as the GPU
      for (int l = 0; l < k; ++l) {
        const float x = float(ta == CUBLAS_OP_N ? a[i + size_t(l) * lda] : a[l + size_t(i) * lda]);
        const float y = float(tb == CUBLAS_OP_N ? b[l + size_t(j) * ldb] : b[j + size_t(l) * ldb]);
        s += x * y;
      }
      c[i + size_t(j) * ldc] = alpha * s + (beta == 0 ? 0.0f : beta * c[i + size_t(j) * ldc]);
    }
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float* alpha, const float* a, int lda, const float* b, int ldb,
                                  const float* beta, float* c, int ldc) {
  return emu_gemm(ta, tb, m, n, k, *alpha, a, lda, b, ldb, *beta, c, ldc);
}
inline cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void* alpha, const void* a, cudaDataType_t at, int lda, const void* b,
                                   cudaDataType_t bt, int ldb, const void* beta, void* c, cudaDataType_t ct, int ldc,
                                   cublasComputeType_t, cublasGemmAlgo_t) {
  if (at != CUDA_R_16F || bt != CUDA_R_16F || ct != CUDA_R_32F) return CUBLAS_STATUS_INVALID_VALUE;
  return emu_gemm(ta, tb, m, n, k, *static_cast<const float*>(alpha), static_cast<const __half*>(a), lda,
                  static_cast<const __half*>(b), ldb, *static_cast<const float*>(beta), static_cast<float*>(c), ldc);
}
