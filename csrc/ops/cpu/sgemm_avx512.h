// float32 GEMM on our AVX-512 micro-kernel (sgemm_avx512.cpp), row-major:
//   C (M, N; row stride ldc) = A @ B + beta C, A (M, K) or (ta) its transpose stored (K, M) with
//   row stride lda, B (K, N) or (tb) its transpose stored (N, K) with row stride ldb.
// Returns false, having done nothing, unless cpu_isa() is Avx512 (core/cpu_isa.h), or
// with an empty M, N or K: the caller then uses the BLAS. beta == 0 never reads C. With
// row_bias (M,), C = A @ B + row_bias[i] on every row i instead (beta ignored, C not read): a
// convolution's bias without a pass that fills the output with it first.
#pragma once
#include <cstdint>

namespace aimass::cpu {

bool sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc, const float* row_bias = nullptr);

}  // namespace aimass::cpu
