// weight_only.h: the formats, quantisation, the portable baseline GEMM and the run-time choice
// (the SIMD GEMMs are in weight_only_avx512.cpp and weight_only_avx2.cpp, kernels.h).
#include "quant/weight_only.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu_isa.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/parallel.h"
#include "quant/kernels.h"

namespace aimass::quant {

int64_t weight_only_groups(int64_t k, int64_t group) { return (k + group - 1) / group; }

int64_t weight_only_row_bytes(int64_t k, int64_t group, int bits) {
  return weight_only_groups(k, group) * group * bits / 8;
}

void check_weight_only_format(int64_t n, int64_t k, int64_t group, int bits) {
  AM_CHECK(bits == 4 || bits == 8, ValueError, "weight-only quantisation: bits must be 4 or 8, got ", bits);
  AM_CHECK(group == 32 || group == 64 || group == 128, ValueError,
           "weight-only quantisation: group_size must be 32, 64 or 128, got ", group);
  AM_CHECK(n > 0 && k > 0, ValueError, "weight-only quantisation: expected a positive weight shape, got (", n, ", ", k,
           ")");
}

void quantize_weight_only(const float* w, int64_t n, int64_t k, int64_t ldw, int64_t group, int bits, uint8_t* q,
                          uint16_t* scales) {
  check_weight_only_format(n, k, group, bits);
  const int64_t groups = weight_only_groups(k, group), row_bytes = weight_only_row_bytes(k, group, bits);
  std::vector<float> buf(static_cast<size_t>(group));
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      float amax = 0, extreme = 0;
      for (int64_t i = 0; i < group; ++i) {
        const int64_t c = g * group + i;
        float v = c < k ? w[r * ldw + c] : 0.0f;
        AM_CHECK(std::isfinite(v), ValueError, "quantize: weight [", r, ", ", c, "] is ", v,
                 "; weight-only quantisation needs finite values");
        buf[size_t(i)] = v;
        if (std::fabs(v) > amax) { amax = std::fabs(v); extreme = v; }
      }
      float d = bits == 8 ? amax / 127.0f : extreme / -8.0f;
      uint16_t d_bits = Half::from_float(d);
      d = Half::to_float(d_bits);  // quantise with the scale the kernels will use
      scales[r * groups + g] = d_bits;
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      uint8_t* out = q + r * row_bytes + g * group * bits / 8;
      if (bits == 8) {
        for (int64_t i = 0; i < group; ++i) {
          float v = std::min(127.0f, std::max(-127.0f, std::nearbyint(buf[size_t(i)] * inv)));
          out[i] = uint8_t(int8_t(v));
        }
      } else {
        const int64_t half = group / 2;
        for (int64_t i = 0; i < half; ++i) {
          auto nib = [&](float v) { return uint8_t(std::min(15.0f, std::max(0.0f, std::nearbyint(v * inv) + 8.0f))); };
          out[i] = uint8_t(nib(buf[size_t(i)]) | (nib(buf[size_t(i + half)]) << 4));
        }
      }
    }
  }
}

namespace {

// Dequantises group g of row r into dst (group floats).
inline void dequantize_group(const uint8_t* q_row, const uint16_t* scale_row, int64_t g, int64_t group, int bits,
                             float* dst) {
  const float d = Half::to_float(scale_row[g]);
  const uint8_t* src = q_row + g * group * bits / 8;
  if (bits == 8) {
    for (int64_t i = 0; i < group; ++i) dst[i] = float(int8_t(src[i])) * d;
  } else {
    const int64_t half = group / 2;
    for (int64_t i = 0; i < half; ++i) {
      dst[i] = float(int(src[i] & 0xf) - 8) * d;
      dst[i + half] = float(int(src[i] >> 4) - 8) * d;
    }
  }
}

}  // namespace

void dequantize_weight_only(const uint8_t* q, const uint16_t* scales, int64_t n, int64_t k, int64_t group, int bits,
                            float* w) {
  check_weight_only_format(n, k, group, bits);
  const int64_t groups = weight_only_groups(k, group), row_bytes = weight_only_row_bytes(k, group, bits);
  std::vector<float> buf(static_cast<size_t>(group));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      dequantize_group(q + r * row_bytes, scales + r * groups, g, group, bits, buf.data());
      for (int64_t i = 0; i < group && g * group + i < k; ++i) w[r * k + g * group + i] = buf[size_t(i)];
    }
}

void weight_only_gemm(const float* x, int64_t m, int64_t ldx, const uint8_t* q, const uint16_t* scales, int64_t n,
                      int64_t k, int64_t group, int bits, const float* bias, bool relu, float* y, int64_t ldy) {
  check_weight_only_format(n, k, group, bits);
  AM_CHECK(m >= 0, ValueError, "weight_only_gemm: negative m = ", m);
  AM_CHECK(ldx >= k && ldy >= n, ValueError, "weight_only_gemm: row strides ldx = ", ldx, " (k = ", k, ") and ldy = ",
           ldy, " (n = ", n, ") must be at least the row lengths");
  if (m == 0) return;
  const CpuIsa isa = cpu_isa_at("weight_only_gemm");
#ifdef AM_QUANT_X86
  if (isa == CpuIsa::Avx512)
    return detail::weight_only_gemm_avx512(x, m, ldx, q, scales, n, k, group, bits, bias, relu, y, ldy);
  if (isa == CpuIsa::Avx2)
    return detail::weight_only_gemm_avx2(x, m, ldx, q, scales, n, k, group, bits, bias, relu, y, ldy);
#endif
  (void)isa;
  const int64_t groups = weight_only_groups(k, group), row_bytes = weight_only_row_bytes(k, group, bits);
  parallel_for(0, n, std::max<int64_t>(1, 4096 / std::max<int64_t>(m, 1)), [&](int64_t n0, int64_t n1) {
    std::vector<float> buf(static_cast<size_t>(group));
    for (int64_t r = n0; r < n1; ++r) {
      std::vector<float> sums(static_cast<size_t>(m), 0.0f);
      for (int64_t g = 0; g < groups; ++g) {
        dequantize_group(q + r * row_bytes, scales + r * groups, g, group, bits, buf.data());
        const int64_t c0 = g * group, len = std::min(group, k - c0);
        for (int64_t i = 0; i < m; ++i) {
          const float* xr = x + i * ldx + c0;
          float s = 0;
          for (int64_t t = 0; t < len; ++t) s += xr[t] * buf[size_t(t)];
          sums[size_t(i)] += s;
        }
      }
      for (int64_t i = 0; i < m; ++i) {
        float v = sums[size_t(i)] + (bias ? bias[r] : 0.0f);
        y[i * ldy + r] = relu ? std::max(v, 0.0f) : v;
      }
    }
  });
}

const char* weight_only_kernel_name() {
#ifdef AM_QUANT_X86
  if (int(cpu_isa()) >= int(CpuIsa::Avx2)) return cpu_isa_name(cpu_isa());  // "avx512" or "avx2"
#endif
  return "baseline";
}

}  // namespace aimass::quant
