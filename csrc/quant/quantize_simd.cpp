// The AVX-512 and AVX2 loops of u8 activation quantisation (quantize.h, kernels.h): a row's
// range and the rounding of a span, with the baseline's float operations (multiply by 1/scale,
// round half to even, add the zero point, clamp; max(q, 0) first, so NaN becomes 0), so the
// bytes equal the baseline's.
#include "quant/kernels.h"

#ifdef AM_QUANT_X86
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "core/cpu_isa.h"

// GCC 12's own AVX-512 intrinsics start from _mm512_undefined_*() and warn about it.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace aimass::quant::detail {

// ---------------------------------------------------------------- AVX-512

AM_TARGET_AVX512 bool row_range_avx512(const float* x, int64_t k, float* lo, float* hi) {
  __m512 vlo = _mm512_setzero_ps(), vhi = _mm512_setzero_ps();
  // |x| < inf is false for NaN and +-inf: the lanes that are not finite.
  const __m512 inf = _mm512_set1_ps(INFINITY);
  __mmask16 bad = 0;
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) {
    const __m512 v = _mm512_loadu_ps(x + j);
    bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(v), inf, _CMP_NLT_UQ);
    vlo = _mm512_min_ps(vlo, v);
    vhi = _mm512_max_ps(vhi, v);
  }
  if (j < k) {
    const __mmask16 m = __mmask16((1u << (k - j)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + j);  // 0 past the end: inside [lo, hi] already
    bad |= _mm512_mask_cmp_ps_mask(m, _mm512_abs_ps(v), inf, _CMP_NLT_UQ);
    vlo = _mm512_min_ps(vlo, v);
    vhi = _mm512_max_ps(vhi, v);
  }
  *lo = _mm512_reduce_min_ps(vlo);
  *hi = _mm512_reduce_max_ps(vhi);
  return bad == 0;
}

AM_TARGET_AVX512 void quantize_span_u8_avx512(const float* x, int64_t count, float inv_scale, int32_t zero,
                                              uint8_t* q) {
  const __m512 inv = _mm512_set1_ps(inv_scale), z = _mm512_set1_ps(float(zero)), top = _mm512_set1_ps(255.0f);
  for (int64_t i = 0; i < count; i += 16) {
    const __mmask16 m = __mmask16(count - i >= 16 ? 0xFFFF : (1u << (count - i)) - 1);
    __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, z), _mm512_setzero_ps()), top);
    _mm_mask_storeu_epi8(q + i, m, _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(r)));
  }
}

// ---------------------------------------------------------------- AVX2

AM_TARGET_AVX2 bool row_range_avx2(const float* x, int64_t k, float* lo, float* hi) {
  __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), inf = _mm256_set1_ps(INFINITY);
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_and_ps(v, abs_mask), inf, _CMP_NLT_UQ));
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
  }
  float l = 0, h = 0;
  float buf_lo[8], buf_hi[8];
  _mm256_storeu_ps(buf_lo, vlo);
  _mm256_storeu_ps(buf_hi, vhi);
  for (int t = 0; t < 8; ++t) {
    l = std::min(l, buf_lo[t]);
    h = std::max(h, buf_hi[t]);
  }
  bool finite = _mm256_movemask_ps(bad) == 0;
  for (; j < k; ++j) {
    if (!std::isfinite(x[j])) finite = false;
    l = std::min(l, x[j]);
    h = std::max(h, x[j]);
  }
  *lo = l;
  *hi = h;
  return finite;
}

AM_TARGET_AVX2 void quantize_span_u8_avx2(const float* x, int64_t count, float inv_scale, int32_t zero, uint8_t* q) {
  const __m256 inv = _mm256_set1_ps(inv_scale), z = _mm256_set1_ps(float(zero)), top = _mm256_set1_ps(255.0f);
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, z), _mm256_setzero_ps()), top);
    const __m256i qi = _mm256_cvtps_epi32(r);
    const __m128i q16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packus_epi16(q16, q16));
  }
  for (; i < count; ++i) {
    const float r = std::nearbyint(x[i] * inv_scale) + float(zero);
    q[i] = uint8_t(std::min(255.0f, std::max(0.0f, r)));
  }
}

}  // namespace aimass::quant::detail

#endif  // AM_QUANT_X86
