// float32 GEMM on our AVX-512 micro-kernel (sgemm_avx512.cpp), row-major:
//   C (M, N; row stride ldc) = A @ B + beta C, A (M, K) or (ta) its transpose stored (K, M) with
//   row stride lda, B (K, N) or (tb) its transpose stored (N, K) with row stride ldb.
// Returns false, having done nothing, unless cpu_isa() is Avx512 (core/cpu_isa.h), or
// with an empty M, N or K: the caller then uses the BLAS. beta == 0 never reads C. With
// row_bias (M,), C = A @ B + row_bias[i] on every row i instead (beta ignored, C not read): a
// convolution's bias without a pass that fills the output with it first.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace aimass::cpu {

bool sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc, const float* row_bias = nullptr);

// B (K, N) packed once for many GEMMs (inference weights): the micro-kernel's panels of 32 columns,
// each holding all of K (data[p * K * 32 + k * 32 + j] = B(k, 32 p + j), zero past N), 64-byte
// aligned. Reused by every call, so a GEMM with few rows of A no longer repacks the whole matrix.
struct SgemmPackedB {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t n = 0, k = 0;
  std::unique_ptr<float, Free> data;
  size_t nbytes() const { return size_t((n + 31) / 32 * 32 * k) * sizeof(float); }
};

// Packs B (or, tb, b^T stored (N, K)) into a SgemmPackedB; null unless cpu_isa() is Avx512, or
// for an empty N or K.
std::shared_ptr<const SgemmPackedB> sgemm_avx512_pack_b(bool tb, int64_t N, int64_t K, const float* b, int64_t ldb);
// C (M, N) = A (M, K; row stride lda) @ packed B + beta C, split over the thread pool. Returns
// false, having done nothing, unless cpu_isa() is Avx512. Same blocking and summation order as
// sgemm_avx512, so both give the same results.
bool sgemm_avx512_packed(int64_t M, const float* a, int64_t lda, const SgemmPackedB& b, float beta, float* c,
                         int64_t ldc);

}  // namespace aimass::cpu
