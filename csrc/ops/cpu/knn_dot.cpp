// SIMD dot products of one query with many rows (the k-NN kernels' direct path): an AVX-512, an
// AVX2 + FMA and a baseline variant, picked by cpu_isa(); several rows per pass so each load of
// the query feeds several FMAs.
#include "ops/cpu/knn_dot.h"

#include <immintrin.h>

#include "core/cpu_isa.h"

namespace aimass::cpu {

namespace {

// GCC 12 warns about an uninitialised pass-through operand inside its own AVX-512 reduction
// and extract intrinsics (a false positive): silenced for these kernels only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// [sum(a0), sum(a1), sum(a2), sum(a3)]: four horizontal sums at the cost of about one.
AM_TARGET_AVX512 inline __m128 hsum4_512(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  // Per 128-bit lane: t01 = [a0 even, a1 even, a0 odd, a1 odd] partial sums, t23 likewise.
  const __m512 t01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  const __m512 t23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  // Per lane: [a0, a1, a2, a3] partial sums; then the four lanes are added.
  const __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t01, t23, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(t01, t23, _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm_add_ps(_mm_add_ps(_mm512_extractf32x4_ps(u, 0), _mm512_extractf32x4_ps(u, 1)),
                    _mm_add_ps(_mm512_extractf32x4_ps(u, 2), _mm512_extractf32x4_ps(u, 3)));
}

// Eight rows per pass: eight independent FMA chains keep both FMA ports busy.
AM_TARGET_AVX512 void dot_rows_avx512(const float* q, const float* x, int64_t n, int64_t d, float* ip) {
  const int64_t dv = d & ~int64_t(15);
  const __mmask16 tail = __mmask16((1u << (d & 15)) - 1);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float* r = x + j * d;
    __m512 a[8];
    for (int i = 0; i < 8; ++i) a[i] = _mm512_setzero_ps();
    for (int64_t t = 0; t < dv; t += 16) {
      const __m512 qv = _mm512_loadu_ps(q + t);
      for (int i = 0; i < 8; ++i) a[i] = _mm512_fmadd_ps(qv, _mm512_loadu_ps(r + i * d + t), a[i]);
    }
    if (tail) {
      const __m512 qv = _mm512_maskz_loadu_ps(tail, q + dv);
      for (int i = 0; i < 8; ++i) a[i] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(tail, r + i * d + dv), a[i]);
    }
    _mm_storeu_ps(ip + j, hsum4_512(a[0], a[1], a[2], a[3]));
    _mm_storeu_ps(ip + j + 4, hsum4_512(a[4], a[5], a[6], a[7]));
  }
  for (; j < n; ++j) {
    const float* xj = x + j * d;
    __m512 a = _mm512_setzero_ps();
    for (int64_t t = 0; t < dv; t += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + t), _mm512_loadu_ps(xj + t), a);
    if (tail) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, q + dv), _mm512_maskz_loadu_ps(tail, xj + dv), a);
    ip[j] = _mm512_reduce_add_ps(a);
  }
}

#pragma GCC diagnostic pop

AM_TARGET_AVX2 float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

AM_TARGET_AVX2 void dot_rows_avx2(const float* q, const float* x, int64_t n, int64_t d, float* ip) {
  const int64_t dv = d & ~int64_t(7);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* x0 = x + j * d;
    const float* x1 = x0 + d;
    const float* x2 = x1 + d;
    const float* x3 = x2 + d;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int64_t t = 0; t < dv; t += 8) {
      const __m256 qv = _mm256_loadu_ps(q + t);
      a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x0 + t), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x1 + t), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x2 + t), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(x3 + t), a3);
    }
    float s0 = hsum256(a0), s1 = hsum256(a1), s2 = hsum256(a2), s3 = hsum256(a3);
    for (int64_t t = dv; t < d; ++t) s0 += q[t] * x0[t], s1 += q[t] * x1[t], s2 += q[t] * x2[t], s3 += q[t] * x3[t];
    ip[j] = s0, ip[j + 1] = s1, ip[j + 2] = s2, ip[j + 3] = s3;
  }
  for (; j < n; ++j) {
    const float* xj = x + j * d;
    __m256 a = _mm256_setzero_ps();
    for (int64_t t = 0; t < dv; t += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + t), _mm256_loadu_ps(xj + t), a);
    float s = hsum256(a);
    for (int64_t t = dv; t < d; ++t) s += q[t] * xj[t];
    ip[j] = s;
  }
}

void dot_rows_baseline(const float* q, const float* x, int64_t n, int64_t d, float* ip) {
  for (int64_t j = 0; j < n; ++j) {
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t t = 0; t < d; ++t) s += q[t] * x[j * d + t];
    ip[j] = s;
  }
}

}  // namespace

void knn_dot_rows(const float* q, const float* x, int64_t n, int64_t d, float* ip) {
  switch (cpu_isa_at("knn_dot")) {
    case CpuIsa::Avx512: return dot_rows_avx512(q, x, n, d, ip);
    case CpuIsa::Avx2: return dot_rows_avx2(q, x, n, d, ip);
    case CpuIsa::Baseline: return dot_rows_baseline(q, x, n, d, ip);
  }
}

}  // namespace aimass::cpu
