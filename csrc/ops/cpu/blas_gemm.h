// Row-major GEMM for the layer kernels (conv, linear): float32 on our AVX-512 micro-kernel where
// the CPU has it (sgemm_avx512.h), else the BLAS, single-threaded either way and split over our
// own pool.
// Why not the BLAS's own threads: OpenBLAS's threaded GEMM synchronises its threads by spinning
// (inner_thread), and its idle workers spin (blas_thread_server) for a while after every threaded
// call. With our pool running the next op, or any other load on the cores, the spinning took
// over half the CPU time of a CNN training step on 2 cores (perf: inner_thread 34%,
// blas_thread_server 17%, the GEMM kernel itself 13%).
#pragma once
#include <cblas.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/parallel.h"
#include "ops/cpu/sgemm_avx512.h"

namespace aimass::cpu {

// C (M, N; row stride ldc) = A @ B + beta C, with A (M, K) or its transpose, B (K, N) or its
// transpose; in the calling thread: float32 on AVX-512 through sgemm_avx512, else one BLAS call.
template <typename T>
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb,
               T beta, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    if (sgemm_avx512(ta, tb, M, N, K, a, lda, b, ldb, beta, c, ldc)) return;
  const CBLAS_TRANSPOSE A = ta ? CblasTrans : CblasNoTrans, B = tb ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    scipy_cblas_sgemm(CblasRowMajor, A, B, blasint(M), blasint(N), blasint(K), 1.0f, a, blasint(lda), b, blasint(ldb),
                      beta, c, blasint(ldc));
  else
    scipy_cblas_dgemm(CblasRowMajor, A, B, blasint(M), blasint(N), blasint(K), 1.0, a, blasint(lda), b, blasint(ldb),
                      beta, c, blasint(ldc));
}

// The same GEMM with C's rows (when M >= N) or columns split over the pool, each part one
// single-threaded blas_gemm. Parts are multiples of 32 rows/columns (whole micro-kernel tiles)
// with at least kGemmGrain multiply-adds each, so small GEMMs stay in one thread.
constexpr int64_t kGemmGrain = int64_t(1) << 20;

template <typename T>
void parallel_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b,
                   int64_t ldb, T beta, T* c, int64_t ldc) {
  constexpr int64_t kBlock = 32;
  const bool by_rows = M >= N;
  const int64_t split = by_rows ? M : N, blocks = (split + kBlock - 1) / kBlock;
  const int64_t per_block = kBlock * (by_rows ? N : M) * std::max<int64_t>(K, 1);
  SingleThreadedBlas one_blas_thread;
  parallel_for(0, blocks, std::max<int64_t>(1, kGemmGrain / std::max<int64_t>(per_block, 1)),
               [&](int64_t b0, int64_t b1) {
    const int64_t i0 = b0 * kBlock, i1 = std::min(split, b1 * kBlock);
    if (by_rows)
      blas_gemm<T>(ta, tb, i1 - i0, N, K, ta ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc);
    else
      blas_gemm<T>(ta, tb, M, i1 - i0, K, a, lda, tb ? b + i0 * ldb : b + i0, ldb, beta, c + i0, ldc);
  });
}

}  // namespace aimass::cpu
