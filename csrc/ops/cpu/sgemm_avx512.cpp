// float32 GEMM with an AVX-512 micro-kernel, for the layer kernels (conv, linear) on CPUs that
// have AVX-512. Why our own: OpenBLAS is pinned to its Haswell (AVX2) kernels here
// (OPENBLAS_CORETYPE=Haswell), which use half the vector width, and its per-call overhead is
// large for the per-sample GEMMs of a convolution (64 x 196 x 288 and the like).
// Goto's blocking: C (M, N) is cut into 8 x 32 tiles; A is packed in panels of 8 rows
// (ap[k * 8 + i]), B in panels of 32 columns (bp[k * 32 + j]), both zero-padded to whole
// panels, K in blocks of kKc (later blocks accumulate onto C). The tile lives in 16 zmm
// registers for a whole K block: per k, 2 loads of B, 8 broadcasts of A, 16 FMAs.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "core/cpu_isa.h"
#include "core/parallel.h"
#include "ops/cpu/sgemm_avx512.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AM_SGEMM_AVX512 1
#endif

namespace aimass::cpu {

#ifdef AM_SGEMM_AVX512

namespace {

constexpr int64_t kMr = 8, kNr = 32;
constexpr int64_t kKc = 256;   // K block: an A panel (8 KiB) and a B panel (32 KiB) in L1
constexpr int64_t kMc = 128;   // rows of A per packed block (128 KiB, in L2)
constexpr int64_t kNc = 1024;  // columns of B per packed block (1 MiB, in L2 / L3)

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A per-thread, 64-byte aligned scratch buffer that only grows.
float* scratch(int which, size_t n) {
  thread_local std::unique_ptr<float, FreeDeleter> buf[2];
  thread_local size_t cap[2] = {0, 0};
  if (cap[which] < n) {
    buf[which].reset(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)));
    if (!buf[which]) throw std::bad_alloc();
    cap[which] = n;
  }
  return buf[which].get();
}

// dst[k * ld + i] = src[i * lds + k] for an 8 x 8 block (i, k < 8): the packing of an operand
// whose K runs along its rows (A as stored, B transposed), a register transpose instead of 64
// scalar moves.
AM_TARGET_AVX512 __attribute__((always_inline)) inline void transpose_8x8(const float* src, int64_t lds, float* dst,
                                                                        int64_t ld) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  // r[i] (i < 4): column i of rows 0-3 in its low lane, column i + 4 in its high lane; r[i + 4]
  // the same for rows 4-7.
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ld, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// ap (mc rounded up to 8 rows, kc): rows [i0, i0 + mc), k in [k0, k0 + kc) of A (ta: A = a^T).
AM_TARGET_AVX512 void pack_a(bool ta, const float* a, int64_t lda, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* ap) {
  for (int64_t ib = 0; ib < mc; ib += kMr) {
    const int64_t mr = std::min(kMr, mc - ib);
    float* dst = ap + ib * kc;
    if (ta) {  // A(i, k) = a[k * lda + i]: 8 contiguous values per k
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = a + (k0 + k) * lda + i0 + ib;
        for (int64_t i = 0; i < mr; ++i) dst[k * kMr + i] = src[i];
        for (int64_t i = mr; i < kMr; ++i) dst[k * kMr + i] = 0.0f;
      }
    } else if (mr == kMr) {  // A(i, k) = a[i * lda + k]: 8 x 8 blocks transposed
      const float* src = a + (i0 + ib) * lda + k0;
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) transpose_8x8(src + k, lda, dst + k * kMr, kMr);
      for (; k < kc; ++k)
        for (int64_t i = 0; i < kMr; ++i) dst[k * kMr + i] = src[i * lda + k];
    } else {
      for (int64_t i = 0; i < kMr; ++i) {
        if (i < mr) {
          const float* src = a + (i0 + ib + i) * lda + k0;
          for (int64_t k = 0; k < kc; ++k) dst[k * kMr + i] = src[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) dst[k * kMr + i] = 0.0f;
        }
      }
    }
  }
}

// bp (kc, nc rounded up to 32 columns): columns [j0, j0 + nc), k in [k0, k0 + kc) of B
// (tb: B = b^T).
AM_TARGET_AVX512 void pack_b(bool tb, const float* b, int64_t ldb, int64_t j0, int64_t nc, int64_t k0, int64_t kc,
                             float* bp) {
  for (int64_t jb = 0; jb < nc; jb += kNr) {
    const int64_t nr = std::min(kNr, nc - jb);
    float* dst = bp + jb * kc;
    if (!tb) {  // B(k, j) = b[k * ldb + j]: 32 contiguous values per k
      const __mmask16 m0 = __mmask16(nr >= 16 ? 0xFFFF : (1u << nr) - 1);
      const __mmask16 m1 = __mmask16(nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = b + (k0 + k) * ldb + j0 + jb;
        _mm512_store_ps(dst + k * kNr, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + k * kNr + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
    } else {    // B(k, j) = b[j * ldb + k]: each source row is one packed column
      if (nr < kNr) std::memset(dst, 0, size_t(kc * kNr) * sizeof(float));
      int64_t j = 0;
      for (; j + 8 <= nr; j += 8) {  // 8 x 8 blocks transposed
        const float* src = b + (j0 + jb + j) * ldb + k0;
        int64_t k = 0;
        for (; k + 8 <= kc; k += 8) transpose_8x8(src + k, ldb, dst + k * kNr + j, kNr);
        for (; k < kc; ++k)
          for (int64_t jj = 0; jj < 8; ++jj) dst[k * kNr + j + jj] = src[jj * ldb + k];
      }
      for (; j < nr; ++j) {
        const float* src = b + (j0 + jb + j) * ldb + k0;
        for (int64_t k = 0; k < kc; ++k) dst[k * kNr + j] = src[k];
      }
    }
  }
}

// C tile (mr <= 8 rows, nr <= 16 * Halves columns) = ap (kc, 8) @ bp (kc, 32) + (bias ? bias[row] :
// beta C). Halves = 1 for a last panel of at most 16 columns (a 196-pixel row: 6 panels and 4
// columns), which would otherwise spend half its FMAs on padding.
template <int Halves>
AM_TARGET_AVX512 void kernel_8x32(int64_t kc, const float* __restrict ap, const float* __restrict bp, float* c,
                                  int64_t ldc, int64_t mr, int64_t nr, float beta, const float* bias) {
  __m512 acc[kMr][Halves];
  for (int i = 0; i < kMr; ++i)
    for (int h = 0; h < Halves; ++h) acc[i][h] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    __m512 bv[Halves];
    for (int h = 0; h < Halves; ++h) bv[h] = _mm512_load_ps(bp + k * kNr + 16 * h);
#pragma GCC unroll 8
    for (int i = 0; i < kMr; ++i) {
      const __m512 a = _mm512_set1_ps(ap[k * kMr + i]);
      for (int h = 0; h < Halves; ++h) acc[i][h] = _mm512_fmadd_ps(a, bv[h], acc[i][h]);
    }
  }
  __mmask16 m[Halves];
  for (int h = 0; h < Halves; ++h) {
    const int64_t cols = nr - 16 * h;
    m[h] = __mmask16(cols >= 16 ? 0xFFFF : cols <= 0 ? 0 : (1u << cols) - 1);
  }
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < kMr; ++i) {
    if (i >= mr) break;
    float* row = c + i * ldc;
    for (int h = 0; h < Halves; ++h) {
      __m512 r = acc[i][h];
      if (bias) r = _mm512_add_ps(r, _mm512_set1_ps(bias[i]));
      else if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m[h], row + 16 * h), r);  // beta 0: C unread
      _mm512_mask_storeu_ps(row + 16 * h, m[h], r);
    }
  }
}

}  // namespace

bool sgemm_avx512(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* b,
                  int64_t ldb, float beta, float* c, int64_t ldc, const float* row_bias) {
  if (M <= 0 || N <= 0 || K <= 0 || cpu_isa_at("sgemm") != CpuIsa::Avx512) return false;
  const int64_t nc_max = std::min(kNc, (N + kNr - 1) / kNr * kNr), kc_max = std::min(kKc, K);
  float* bp = scratch(0, size_t(nc_max * kc_max));
  float* ap = scratch(1, size_t(std::min(kMc, (M + kMr - 1) / kMr * kMr) * kc_max));
  for (int64_t j0 = 0; j0 < N; j0 += kNc) {
    const int64_t nc = std::min(kNc, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = std::min(kKc, K - k0);
      const float bt = k0 == 0 ? beta : 1.0f;
      const float* bias = k0 == 0 ? row_bias : nullptr;
      pack_b(tb, b, ldb, j0, nc, k0, kc, bp);
      for (int64_t i0 = 0; i0 < M; i0 += kMc) {
        const int64_t mc = std::min(kMc, M - i0);
        pack_a(ta, a, lda, i0, mc, k0, kc, ap);
        for (int64_t jb = 0; jb < nc; jb += kNr)
          for (int64_t ib = 0; ib < mc; ib += kMr) {
            const int64_t nr = std::min(kNr, nc - jb);
            (nr > 16 ? kernel_8x32<2> : kernel_8x32<1>)(kc, ap + ib * kc, bp + jb * kc, c + (i0 + ib) * ldc + j0 + jb,
                                                        ldc, std::min(kMr, mc - ib), nr, bt,
                                                        bias ? bias + i0 + ib : nullptr);
          }
      }
    }
  }
  return true;
}

std::shared_ptr<const SgemmPackedB> sgemm_avx512_pack_b(bool tb, int64_t N, int64_t K, const float* b, int64_t ldb) {
  if (N <= 0 || K <= 0 || cpu_isa_at("sgemm") != CpuIsa::Avx512) return nullptr;
  auto packed = std::make_shared<SgemmPackedB>();
  packed->n = N;
  packed->k = K;
  float* data = static_cast<float*>(std::aligned_alloc(64, (packed->nbytes() + 63) / 64 * 64));
  if (!data) throw std::bad_alloc();
  packed->data.reset(data);
  const int64_t panels = (N + kNr - 1) / kNr;
  parallel_for(0, panels, std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1)), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) pack_b(tb, b, ldb, p * kNr, std::min(kNr, N - p * kNr), 0, K, data + p * K * kNr);
  });
  return packed;
}

bool sgemm_avx512_packed(int64_t M, const float* a, int64_t lda, const SgemmPackedB& b, float beta, float* c,
                         int64_t ldc) {
  if (cpu_isa_at("sgemm") != CpuIsa::Avx512) return false;
  if (M <= 0) return true;
  const int64_t N = b.n, K = b.k, panels = (N + kNr - 1) / kNr;
  constexpr int64_t kPanelsPerTask = 8;  // 256 columns: tasks enough for the pool, A packed once per task
  const int64_t groups = (panels + kPanelsPerTask - 1) / kPanelsPerTask, m_blocks = (M + kMc - 1) / kMc;
  const float* bp = b.data.get();
  parallel_for(0, groups * m_blocks, 1, [&](int64_t t0, int64_t t1) {
    float* ap = scratch(1, size_t(kMc * kKc));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t i0 = (t / groups) * kMc, mc = std::min(kMc, M - i0);
      const int64_t p0 = (t % groups) * kPanelsPerTask, p1 = std::min(panels, p0 + kPanelsPerTask);
      for (int64_t k0 = 0; k0 < K; k0 += kKc) {
        const int64_t kc = std::min(kKc, K - k0);
        const float bt = k0 == 0 ? beta : 1.0f;
        pack_a(false, a, lda, i0, mc, k0, kc, ap);
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t nr = std::min(kNr, N - p * kNr);
          for (int64_t ib = 0; ib < mc; ib += kMr)
            (nr > 16 ? kernel_8x32<2> : kernel_8x32<1>)(kc, ap + ib * kc, bp + p * K * kNr + k0 * kNr,
                                                        c + (i0 + ib) * ldc + p * kNr, ldc, std::min(kMr, mc - ib), nr,
                                                        bt, nullptr);
        }
      }
    }
  });
  return true;
}

#else

bool sgemm_avx512(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t, float, float*,
                  int64_t, const float*) {
  return false;
}

std::shared_ptr<const SgemmPackedB> sgemm_avx512_pack_b(bool, int64_t, int64_t, const float*, int64_t) {
  return nullptr;
}

bool sgemm_avx512_packed(int64_t, const float*, int64_t, const SgemmPackedB&, float, float*, int64_t) { return false; }

#endif

}  // namespace aimass::cpu
