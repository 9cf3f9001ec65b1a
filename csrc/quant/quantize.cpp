#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/parallel.h"
#include "quant/kernels.h"

namespace aimass::quant {

namespace {

inline uint8_t to_u8(float x, float inv_scale, int32_t zero) {
  float r = std::nearbyint(x * inv_scale) + float(zero);  // round half to even (default mode)
  r = std::min(255.0f, std::max(0.0f, r));
  return uint8_t(r);
}

// The row range and span rounding at the current level (site "quantize_u8"): the AVX-512 / AVX2
// loops (quantize_simd.cpp) or the portable ones, with the same results.
struct U8Loops {
  bool (*range)(const float* x, int64_t k, float* lo, float* hi);
  void (*span)(const float* x, int64_t count, float inv_scale, int32_t zero, uint8_t* q);
};

bool row_range_baseline(const float* x, int64_t k, float* lo_out, float* hi_out) {
  float lo = 0, hi = 0;
  bool finite = true;
  for (int64_t j = 0; j < k; ++j) {
    float v = x[j];
    if (!std::isfinite(v)) finite = false;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  *lo_out = lo;
  *hi_out = hi;
  return finite;
}

void quantize_span_baseline(const float* x, int64_t count, float inv_scale, int32_t zero, uint8_t* q) {
  for (int64_t i = 0; i < count; ++i) q[i] = to_u8(x[i], inv_scale, zero);
}

U8Loops u8_loops() {
  const CpuIsa isa = cpu_isa_at("quantize_u8");
#ifdef AM_QUANT_X86
  if (isa == CpuIsa::Avx512) return {detail::row_range_avx512, detail::quantize_span_u8_avx512};
  if (isa == CpuIsa::Avx2) return {detail::row_range_avx2, detail::quantize_span_u8_avx2};
#endif
  (void)isa;
  return {row_range_baseline, quantize_span_baseline};
}

}  // namespace

void quantize_rows_u8(const float* x, int64_t m, int64_t k, int64_t ldx, uint8_t* q, int64_t ldq, float* scale,
                      int32_t* zero) {
  AM_CHECK(m >= 0 && k >= 0, ValueError, "quantize_rows_u8: expected a non-negative shape, got (", m, ", ", k, ")");
  AM_CHECK(ldx >= k && ldq >= k, ValueError, "quantize_rows_u8: row strides ", ldx, " and ", ldq, " must be >= k = ",
           k);
  const U8Loops loops = u8_loops();
  parallel_for(0, m, std::max<int64_t>(1, 16384 / std::max<int64_t>(k, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * ldx;
      float lo, hi;
      const bool finite = loops.range(row, k, &lo, &hi);
      uint8_t* out = q + r * ldq;
      if (!finite) {
        scale[r] = std::numeric_limits<float>::quiet_NaN();
        zero[r] = 0;
        std::fill(out, out + k, uint8_t(0));
        continue;
      }
      float s = (hi - lo) / 255.0f;
      if (!(s > 0)) s = 1.0f;
      int32_t z = int32_t(std::nearbyint(-lo / s));
      z = std::min(255, std::max(0, z));
      scale[r] = s;
      zero[r] = z;
      loops.span(row, k, 1.0f / s, z, out);
    }
  });
}

void quantize_u8(const float* x, int64_t count, float scale, int32_t zero, uint8_t* q) {
  AM_CHECK(scale > 0 && std::isfinite(scale), ValueError, "quantize_u8: scale must be positive and finite, got ", scale);
  AM_CHECK(zero >= 0 && zero <= 255, ValueError, "quantize_u8: zero point must be in [0, 255], got ", zero);
  AM_CHECK(count >= 0, ValueError, "quantize_u8: negative count ", count);
  const float inv = 1.0f / scale;
  const U8Loops loops = u8_loops();
  parallel_for(0, count, 65536, [&](int64_t i0, int64_t i1) { loops.span(x + i0, i1 - i0, inv, zero, q + i0); });
}

void quantize_weights_s8(const float* w, int64_t n, int64_t k, int64_t ldw, int8_t* q, float* scale) {
  AM_CHECK(n >= 0 && k >= 0 && ldw >= k, ValueError, "quantize_weights_s8: bad shape (", n, ", ", k, ") or row stride ",
           ldw);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = w + r * ldw;
    float amax = 0;
    for (int64_t j = 0; j < k; ++j) {
      AM_CHECK(std::isfinite(row[j]), ValueError, "quantize: weight [", r, ", ", j, "] is ", row[j],
               "; int8 weights need finite values");
      amax = std::max(amax, std::fabs(row[j]));
    }
    float s = amax > 0 ? amax / 127.0f : 1.0f;
    scale[r] = s;
    float inv = 1.0f / s;
    for (int64_t j = 0; j < k; ++j) {
      float v = std::nearbyint(row[j] * inv);
      q[r * k + j] = int8_t(std::min(127.0f, std::max(-127.0f, v)));
    }
  }
}

}  // namespace aimass::quant
