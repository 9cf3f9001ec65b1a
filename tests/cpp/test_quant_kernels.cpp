// The int8 / int4 kernels (csrc/quant) against plain references written here from the headers'
// formulas, at every CPU level this process may use (Quant/QuantKernels.*/{baseline,avx2,avx512});
// the dispatch-counting hook proves the level's kernel ran. Integer results (and the u8 bytes of
// quantisation and requantisation) must be equal; the float epilogue is computed here with the
// header's operations in its order, so it is equal too. The weight-only GEMM sums floats in
// another order: |y - ref| <= 1e-5 * sum_k |x * w| (+1e-6), ref in double.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_isa.h"
#include "core/dtype.h"
#include "core/error.h"
#include "quant/int8_gemm.h"
#include "quant/quantize.h"
#include "quant/weight_only.h"

using namespace aimass;
using namespace aimass::quant;

namespace {

const CpuIsa kLevels[] = {CpuIsa::Baseline, CpuIsa::Avx2, CpuIsa::Avx512};
const float kNaN = std::numeric_limits<float>::quiet_NaN();

class QuantKernels : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    before_ = cpu_isa();
    if (int(GetParam()) > int(cpu_isa_limit()))
      GTEST_SKIP() << cpu_isa_name(GetParam()) << " is above this process's limit " << cpu_isa_name(cpu_isa_limit());
    set_cpu_isa(GetParam());
    set_isa_dispatch_counting(true);
  }
  void TearDown() override {
    set_isa_dispatch_counting(false);
    set_cpu_isa(before_);
  }
  void expect_took_level(const char* site) {
    for (CpuIsa isa : kLevels) {
      if (isa == GetParam()) EXPECT_GT(isa_dispatch_count(site, isa), 0) << site;
      else EXPECT_EQ(isa_dispatch_count(site, isa), 0) << site << " ran at " << cpu_isa_name(isa);
    }
  }
  CpuIsa before_ = CpuIsa::Baseline;
};

// Same bits, or both NaN.
bool same(float a, float b) { return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, sizeof a) == 0; }

// ---------------------------------------------------------------- int8 GEMM references

// acc[i][j] = sum_k a[i][k] * w[j][k], in int64 (never overflows here).
std::vector<int64_t> ref_acc(const std::vector<uint8_t>& a, int64_t m, int64_t lda, const std::vector<int8_t>& w,
                             int64_t n, int64_t k) {
  std::vector<int64_t> acc(size_t(m * n), 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t s = 0;
      for (int64_t t = 0; t < k; ++t) s += int64_t(a[size_t(i * lda + t)]) * w[size_t(j * k + t)];
      acc[size_t(i * n + j)] = s;
    }
  return acc;
}

// int8_gemm.h's real[m][n], operation by operation.
float ref_real(int64_t acc, int64_t col_sum, float a_scale, int32_t a_zero, float w_scale, const float* bias, int64_t j,
               bool relu) {
  const int32_t centred = int32_t(acc - int64_t(a_zero) * col_sum);
  const float ws = a_scale * w_scale;
  float v = float(centred) * ws;
  if (bias) v = v + bias[j];
  if (relu) v = v < 0.0f ? 0.0f : v;  // NaN stays NaN
  return v;
}

uint8_t ref_requant(float real, float out_scale, int32_t out_zero) {
  const float inv = 1.0f / out_scale;
  float q = std::nearbyint(real * inv) + float(out_zero);  // ties to even (default mode)
  if (!(q > 0.0f)) q = 0.0f;                                // NaN -> 0
  if (q > 255.0f) q = 255.0f;
  return uint8_t(q);
}

const char* expected_int8_kernel(CpuIsa isa) {
  if (isa == CpuIsa::Avx512) return cpu_has_avx512_vnni() ? "avx512_vnni" : "avx2";
  return isa == CpuIsa::Avx2 ? "avx2" : "baseline";
}

struct GemmCase {
  int64_t m, n, k;
};

const GemmCase kGemmCases[] = {{1, 1, 1},    {1, 16, 4},   {2, 5, 3},     {3, 17, 2},   {5, 33, 7},
                               {8, 48, 64},  {9, 49, 130}, {17, 100, 259}, {1, 70, 1000}, {33, 65, 31},
                               {64, 96, 256}, {12, 200, 45}, {4, 31, 5}};

// Runs s32, f32 and u8 on one case and compares every element with the references.
void check_int8_case(const GemmCase& s, bool extreme, int8_t extreme_w, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), zero_d(0, 255);
  const int64_t lda = s.k + (seed % 3) * 5, ldc = s.n + (seed % 2) * 7;
  std::vector<uint8_t> a(size_t(s.m * lda), 0xAB);
  std::vector<int8_t> w(size_t(s.n * s.k));
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t t = 0; t < s.k; ++t) a[size_t(i * lda + t)] = extreme ? 255 : uint8_t(u8(rng));
  for (auto& v : w) v = extreme ? extreme_w : int8_t(s8(rng));
  // w with a row stride wider than k, to check the packing reads it
  const int64_t ldw = s.k + 2;
  std::vector<int8_t> w_strided(size_t(s.n * ldw), 99);
  for (int64_t j = 0; j < s.n; ++j) std::copy_n(&w[size_t(j * s.k)], s.k, &w_strided[size_t(j * ldw)]);
  const PackedInt8Weights packed = pack_int8_weights(w_strided.data(), s.n, s.k, ldw);
  const std::vector<int64_t> acc = ref_acc(a, s.m, lda, w, s.n, s.k);
  std::vector<int64_t> col_sum(size_t(s.n), 0);
  for (int64_t j = 0; j < s.n; ++j)
    for (int64_t t = 0; t < s.k; ++t) col_sum[size_t(j)] += w[size_t(j * s.k + t)];
  for (int64_t j = 0; j < s.n; ++j) ASSERT_EQ(packed.col_sum[size_t(j)], col_sum[size_t(j)]);

  std::vector<int32_t> c32(size_t(s.m * ldc), -7);
  int8_gemm_s32(a.data(), s.m, lda, packed, c32.data(), ldc);
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      const size_t at = size_t(i * ldc + j);
      if (j >= s.n) {
        ASSERT_EQ(c32[at], -7) << "wrote past n";
      } else {
        ASSERT_EQ(c32[at], acc[size_t(i * s.n + j)])
            << "m=" << s.m << " n=" << s.n << " k=" << s.k << " at (" << i << ", " << j << ")";
      }
    }

  std::uniform_real_distribution<float> pos(0.001f, 0.05f), real(-1.0f, 1.0f);
  std::vector<float> a_scale(size_t(s.m)), w_scale(size_t(s.n)), bias(size_t(s.n));
  std::vector<int32_t> a_zero(size_t(s.m));
  for (auto& v : a_scale) v = pos(rng);
  for (auto& v : w_scale) v = pos(rng);
  for (auto& v : bias) v = real(rng);
  for (auto& v : a_zero) v = zero_d(rng);
  for (bool per_row : {true, false})
    for (bool with_bias : {false, true})
      for (bool relu : {false, true}) {
        Int8Epilogue ep;
        ep.a_scale = a_scale.data();
        ep.a_zero = a_zero.data();
        ep.a_per_row = per_row;
        ep.w_scale = w_scale.data();
        ep.bias = with_bias ? bias.data() : nullptr;
        ep.relu = relu;
        std::vector<float> cf(size_t(s.m * ldc), -3.0f);
        int8_gemm_f32(a.data(), s.m, lda, packed, ep, cf.data(), ldc);
        const float out_scale = 0.02f + 0.01f * float(seed % 4);
        const int32_t out_zero = int32_t(seed * 37 % 256);
        std::vector<uint8_t> cu(size_t(s.m * ldc), 0x5A);
        int8_gemm_u8(a.data(), s.m, lda, packed, ep, out_scale, out_zero, cu.data(), ldc);
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < ldc; ++j) {
            const size_t at = size_t(i * ldc + j);
            if (j >= s.n) {
              ASSERT_EQ(cf[at], -3.0f);
              ASSERT_EQ(cu[at], 0x5A);
              continue;
            }
            const size_t ai = per_row ? size_t(i) : 0;
            const float want = ref_real(acc[size_t(i * s.n + j)], col_sum[size_t(j)], a_scale[ai], a_zero[ai],
                                        w_scale[size_t(j)], ep.bias, j, relu);
            ASSERT_TRUE(same(cf[at], want)) << cf[at] << " != " << want << " m=" << s.m << " n=" << s.n
                                            << " k=" << s.k << " at (" << i << ", " << j << ") per_row=" << per_row
                                            << " bias=" << with_bias << " relu=" << relu;
            ASSERT_EQ(cu[at], ref_requant(want, out_scale, out_zero)) << "u8 at (" << i << ", " << j << ")";
          }
      }
}

TEST_P(QuantKernels, Int8GemmMatchesTheReferenceExactly) {
  unsigned seed = 1;
  for (const GemmCase& s : kGemmCases) check_int8_case(s, false, 0, seed++);
  EXPECT_STREQ(int8_gemm_kernel_name(), expected_int8_kernel(GetParam()));
  expect_took_level("int8_gemm");
}

// Small M takes its own tiles (wide strips of columns, several accumulators a row): every m up to
// and just past their height, n covering full and partial strips (1 to 8 blocks of 16 and a
// ragged end), k with and without a k % 4 tail, long enough for the prefetch to run ahead.
TEST_P(QuantKernels, Int8GemmSmallMMatchesTheReferenceExactly) {
  unsigned seed = 100;
  for (int64_t m : {1, 2, 3, 4, 5})
    for (int64_t n : {1, 16, 40, 128, 129, 200, 300})
      for (int64_t k : {3, 64, 1030}) check_int8_case(GemmCase{m, n, k}, false, 0, seed++);
  for (int8_t wv : {int8_t(127), int8_t(-128)})
    for (int64_t m : {1, 2, 3, 5}) check_int8_case(GemmCase{m, 150, 2051}, true, wv, 7);
  expect_took_level("int8_gemm");
}

// a = 255 and w = +-127 (and -128) everywhere: every vpmaddubsw pair would saturate at s16
// (255 * 127 * 2 > 32767); the sums must be the exact ones.
TEST_P(QuantKernels, Int8GemmExtremeValuesAreExact) {
  for (int8_t wv : {int8_t(127), int8_t(-127), int8_t(-128)})
    for (const GemmCase& s : {GemmCase{1, 16, 4}, GemmCase{5, 33, 1000}, GemmCase{9, 48, 517}})
      check_int8_case(s, true, wv, 3);
  // alternating 255 / 0 in A and +-127 in W
  const int64_t m = 3, n = 20, k = 301;
  std::vector<uint8_t> a(size_t(m * k));
  std::vector<int8_t> w(size_t(n * k));
  for (size_t i = 0; i < a.size(); ++i) a[i] = (i % 2) ? 0 : 255;
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 3) ? 127 : -127;
  const PackedInt8Weights p = pack_int8_weights(w.data(), n, k, k);
  std::vector<int32_t> c(size_t(m * n));
  int8_gemm_s32(a.data(), m, k, p, c.data(), n);
  const std::vector<int64_t> acc = ref_acc(a, m, k, w, n, k);
  for (size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], acc[i]) << i;
  expect_took_level("int8_gemm");
}

// Requantisation rounds half to even: k = 1, w = 1, scales 1 and out_scale 2 make real = a and
// q = a / 2 + zero, half of them ties.
TEST_P(QuantKernels, Int8GemmU8RequantRoundsHalfToEvenAndClamps) {
  const int64_t m = 256, n = 1, k = 1;
  std::vector<uint8_t> a(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) a[size_t(i)] = uint8_t(i);
  const int8_t one = 1;
  const PackedInt8Weights p = pack_int8_weights(&one, n, k, k);
  const float a_scale = 1.0f, w_scale = 1.0f;
  const int32_t a_zero = 0;
  Int8Epilogue ep;
  ep.a_scale = &a_scale;
  ep.a_zero = &a_zero;
  ep.a_per_row = false;
  ep.w_scale = &w_scale;
  for (int32_t out_zero : {0, 100, 200}) {
    std::vector<uint8_t> q(static_cast<size_t>(m));
    int8_gemm_u8(a.data(), m, k, p, ep, 2.0f, out_zero, q.data(), n);
    for (int64_t i = 0; i < m; ++i) {
      const double half = double(i) / 2;
      double r = std::floor(half);
      if (half - r > 0.5 || (half - r == 0.5 && std::fmod(r, 2.0) != 0)) r += 1;  // half to even
      const double want = std::min(255.0, r + out_zero);
      ASSERT_EQ(q[size_t(i)], uint8_t(want)) << "a=" << i << " zero=" << out_zero;
    }
  }
  expect_took_level("int8_gemm");
}

// A NaN scale (a NaN row of the activations) gives NaN floats (ReLU keeps them) and u8 0.
TEST_P(QuantKernels, Int8GemmNaNScaleRows) {
  const int64_t m = 3, n = 18, k = 9;
  std::vector<uint8_t> a(size_t(m * k), 7);
  std::vector<int8_t> w(size_t(n * k), 3);
  const PackedInt8Weights p = pack_int8_weights(w.data(), n, k, k);
  const float a_scale[3] = {0.5f, kNaN, 0.25f};
  const int32_t a_zero[3] = {1, 0, 2};
  std::vector<float> w_scale(size_t(n), 0.1f);
  Int8Epilogue ep;
  ep.a_scale = a_scale;
  ep.a_zero = a_zero;
  ep.w_scale = w_scale.data();
  ep.relu = true;
  std::vector<float> c(size_t(m * n));
  std::vector<uint8_t> q(size_t(m * n));
  int8_gemm_f32(a.data(), m, k, p, ep, c.data(), n);
  int8_gemm_u8(a.data(), m, k, p, ep, 0.1f, 5, q.data(), n);
  for (int64_t j = 0; j < n; ++j) {
    EXPECT_TRUE(std::isnan(c[size_t(n + j)]));
    EXPECT_EQ(q[size_t(n + j)], 0);
    EXPECT_FALSE(std::isnan(c[size_t(j)]));
  }
}

TEST_P(QuantKernels, Int8GemmEmptyMWritesNothing) {
  const int8_t w[4] = {1, 2, 3, 4};
  const PackedInt8Weights p = pack_int8_weights(w, 1, 4, 4);
  int32_t c = 42;
  int8_gemm_s32(nullptr, 0, 4, p, &c, 1);
  EXPECT_EQ(c, 42);
}

// ---------------------------------------------------------------- quantisation references

struct RowQuant {
  float scale;
  int32_t zero;
  std::vector<uint8_t> q;
};

// quantize.h's per-row formula, written out.
RowQuant ref_quantize_row(const float* x, int64_t k) {
  float lo = 0, hi = 0;
  bool finite = true;
  for (int64_t j = 0; j < k; ++j) {
    if (!std::isfinite(x[j])) finite = false;
    if (x[j] < lo) lo = x[j];
    if (x[j] > hi) hi = x[j];
  }
  RowQuant r;
  if (!finite) {
    r.scale = kNaN;
    r.zero = 0;
    r.q.assign(size_t(k), 0);
    return r;
  }
  r.scale = (hi - lo) / 255.0f;
  if (!(r.scale > 0)) r.scale = 1.0f;
  r.zero = std::clamp(int32_t(std::nearbyint(-lo / r.scale)), 0, 255);
  const float inv = 1.0f / r.scale;
  for (int64_t j = 0; j < k; ++j) {
    float v = std::nearbyint(x[j] * inv) + float(r.zero);
    r.q.push_back(uint8_t(std::clamp(v, 0.0f, 255.0f)));
  }
  return r;
}

TEST_P(QuantKernels, QuantizeRowsU8MatchesTheReferenceExactly) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  for (int64_t k : {1, 3, 7, 8, 15, 16, 17, 33, 100, 257}) {
    const int64_t m = 9, ldx = k + 3, ldq = k + 5;
    std::vector<float> x(size_t(m * ldx), 1e30f);  // past k: never read into the range
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < k; ++j) x[size_t(i * ldx + j)] = g(rng) * float(i + 1);
    for (int64_t j = 0; j < k; ++j) {
      x[size_t(1 * ldx + j)] = 0.0f;                // an all-zero row: scale 1
      x[size_t(2 * ldx + j)] = std::fabs(g(rng));   // all positive: zero point 0
      x[size_t(3 * ldx + j)] = -std::fabs(g(rng));  // all negative: zero point 255
    }
    x[size_t(4 * ldx + k / 2)] = kNaN;
    x[size_t(5 * ldx + k - 1)] = std::numeric_limits<float>::infinity();
    x[size_t(6 * ldx)] = -std::numeric_limits<float>::infinity();
    // row 7: 0 and 255 fix scale 1, zero 0; the rest are ties x.5 (half to even)
    for (int64_t j = 0; j < k; ++j) x[size_t(7 * ldx + j)] = j == 0 ? 255.0f : j == 1 ? 0.0f : float(j % 200) + 0.5f;
    std::vector<uint8_t> q(size_t(m * ldq), 0xEE);
    std::vector<float> scale(static_cast<size_t>(m));
    std::vector<int32_t> zero(static_cast<size_t>(m));
    quantize_rows_u8(x.data(), m, k, ldx, q.data(), ldq, scale.data(), zero.data());
    for (int64_t i = 0; i < m; ++i) {
      const RowQuant r = ref_quantize_row(&x[size_t(i * ldx)], k);
      ASSERT_TRUE(same(scale[size_t(i)], r.scale)) << "k=" << k << " row " << i;
      ASSERT_EQ(zero[size_t(i)], r.zero) << "k=" << k << " row " << i;
      for (int64_t j = 0; j < ldq; ++j) {
        if (j >= k) {
          ASSERT_EQ(q[size_t(i * ldq + j)], 0xEE) << "wrote past k";
        } else {
          ASSERT_EQ(q[size_t(i * ldq + j)], r.q[size_t(j)]) << "k=" << k << " row " << i << " col " << j;
        }
      }
    }
    EXPECT_TRUE(std::isnan(scale[4]) && std::isnan(scale[5]) && std::isnan(scale[6]));
    EXPECT_EQ(scale[1], 1.0f);
    EXPECT_EQ(zero[2], 0);
    EXPECT_EQ(zero[3], 255);
    if (k > 3) {
      EXPECT_EQ(scale[7], 1.0f);
      EXPECT_EQ(q[size_t(7 * ldq + 2)], 2);  // 2.5 -> 2
      EXPECT_EQ(q[size_t(7 * ldq + 3)], 4);  // 3.5 -> 4
    }
  }
  expect_took_level("quantize_u8");
}

// Dequantised u8 is within half a step of x (x inside the row's range).
TEST_P(QuantKernels, QuantizeRowsU8RoundTrip) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(-3.0f, 5.0f);
  const int64_t m = 40, k = 1000;  // several threads' worth of rows
  std::vector<float> x(size_t(m * k));
  for (auto& v : x) v = u(rng);
  std::vector<uint8_t> q(x.size());
  std::vector<float> scale(static_cast<size_t>(m));
  std::vector<int32_t> zero(static_cast<size_t>(m));
  quantize_rows_u8(x.data(), m, k, k, q.data(), k, scale.data(), zero.data());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) {
      const size_t at = size_t(i * k + j);
      const float back = float(int(q[at]) - zero[size_t(i)]) * scale[size_t(i)];
      ASSERT_LE(std::fabs(back - x[at]), 0.5f * scale[size_t(i)] * 1.001f + 1e-6f) << i << ", " << j;
    }
}

TEST_P(QuantKernels, QuantizeU8MatchesTheReferenceExactly) {
  std::mt19937 rng(13);
  std::normal_distribution<float> g(0.0f, 40.0f);
  for (int64_t count : {0, 1, 5, 8, 16, 17, 31, 1000, 300001}) {  // the last: on several threads
    std::vector<float> x(static_cast<size_t>(count));
    for (auto& v : x) v = g(rng);
    const float specials[] = {kNaN, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                              1e30f, -1e30f, 0.25f, 0.75f, -0.25f, 1.25f};
    for (size_t i = 0; i < x.size() && i < 9; ++i) x[i * 3 % x.size()] = specials[i];
    const float scale = 0.5f;
    const int32_t zero = 128;
    std::vector<uint8_t> q(size_t(count) + 1, 0xEE);
    quantize_u8(x.data(), count, scale, zero, q.data());
    for (int64_t i = 0; i < count; ++i) {
      float v = std::nearbyint(x[size_t(i)] * (1.0f / scale)) + float(zero);
      v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 255.0f);
      ASSERT_EQ(q[size_t(i)], uint8_t(v)) << "count " << count << " at " << i << " x=" << x[size_t(i)];
    }
    ASSERT_EQ(q[size_t(count)], 0xEE);
  }
  expect_took_level("quantize_u8");
}

// ---------------------------------------------------------------- weight-only references

// The float weights of weight_only.h's format, decoded here: w (n, k).
std::vector<float> ref_decode(const std::vector<uint8_t>& q, const std::vector<uint16_t>& scales, int64_t n, int64_t k,
                              int64_t group, int bits) {
  const int64_t groups = (k + group - 1) / group, row_bytes = groups * group * bits / 8;
  std::vector<float> w(size_t(n * k));
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t g = c / group, i = c % group;
      const float d = Half::to_float(scales[size_t(r * groups + g)]);
      const uint8_t* base = &q[size_t(r * row_bytes + g * group * bits / 8)];
      int v;
      if (bits == 8) {
        v = int(int8_t(base[i]));
      } else {
        const int64_t half = group / 2;
        v = i < half ? int(base[i] & 0xf) - 8 : int(base[i - half] >> 4) - 8;
      }
      w[size_t(r * k + c)] = float(v) * d;
    }
  return w;
}

struct WoCase {
  int64_t m, n, k;
};

TEST_P(QuantKernels, WeightOnlyGemmMatchesTheReference) {
  const WoCase cases[] = {{1, 1, 1},   {1, 4, 32},   {2, 5, 33},  {3, 17, 100}, {5, 7, 64},  {16, 64, 256},
                          {17, 9, 300}, {1, 520, 512}, {4, 3, 129}, {7, 33, 31},  {16, 130, 96}, {2, 9, 4096},
                          {8, 70, 1000}, {33, 5, 64}, {9, 67, 47}};  // 8 rows and more: the dequantised-panel path
  std::mt19937 rng(21);
  std::normal_distribution<float> g;
  int seed = 0;
  for (const WoCase& s : cases)
    for (int bits : {4, 8})
      for (int64_t group : {32, 64, 128}) {
        ++seed;
        const int64_t ldw = s.k + 1, ldx = s.k + (seed % 3), ldy = s.n + (seed % 2) * 3;
        std::vector<float> w(size_t(s.n * ldw)), x(size_t(s.m * ldx), 1e30f), bias(size_t(s.n));
        for (auto& v : w) v = g(rng);
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t t = 0; t < s.k; ++t) x[size_t(i * ldx + t)] = g(rng);  // past k: never used
        for (auto& v : bias) v = g(rng);
        const int64_t groups = weight_only_groups(s.k, group);
        std::vector<uint8_t> q(size_t(s.n * weight_only_row_bytes(s.k, group, bits)));
        std::vector<uint16_t> scales(size_t(s.n * groups));
        quantize_weight_only(w.data(), s.n, s.k, ldw, group, bits, q.data(), scales.data());
        const std::vector<float> wd = ref_decode(q, scales, s.n, s.k, group, bits);
        for (bool with_bias : {false, true})
          for (bool relu : {false, true}) {
            std::vector<float> y(size_t(s.m * ldy), -5.0f);
            weight_only_gemm(x.data(), s.m, ldx, q.data(), scales.data(), s.n, s.k, group, bits,
                             with_bias ? bias.data() : nullptr, relu, y.data(), ldy);
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < ldy; ++j) {
                const float got = y[size_t(i * ldy + j)];
                if (j >= s.n) {
                  ASSERT_EQ(got, -5.0f) << "wrote past n";
                  continue;
                }
                double ref = with_bias ? bias[size_t(j)] : 0.0, mag = 0;
                for (int64_t t = 0; t < s.k; ++t) {
                  const double p = double(x[size_t(i * ldx + t)]) * wd[size_t(j * s.k + t)];
                  ref += p;
                  mag += std::fabs(p);
                }
                if (relu) ref = std::max(ref, 0.0);
                ASSERT_NEAR(got, ref, 1e-5 * mag + 1e-6)
                    << "m=" << s.m << " n=" << s.n << " k=" << s.k << " bits=" << bits << " group=" << group
                    << " at (" << i << ", " << j << ") bias=" << with_bias << " relu=" << relu;
              }
          }
      }
  const char* want = GetParam() == CpuIsa::Baseline ? "baseline" : cpu_isa_name(GetParam());
  EXPECT_STREQ(weight_only_kernel_name(), want);
  expect_took_level("weight_only_gemm");
}

// NaN in x reaches y (as in float); every kernel agrees with the baseline on it.
TEST_P(QuantKernels, WeightOnlyGemmPropagatesNaN) {
  const int64_t m = 2, n = 5, k = 40;
  std::vector<float> w(size_t(n * k), 0.5f), x(size_t(m * k), 1.0f), y(size_t(m * n));
  x[3] = kNaN;
  std::vector<uint8_t> q(size_t(n * weight_only_row_bytes(k, 32, 4)));
  std::vector<uint16_t> scales(size_t(n * weight_only_groups(k, 32)));
  quantize_weight_only(w.data(), n, k, k, 32, 4, q.data(), scales.data());
  weight_only_gemm(x.data(), m, k, q.data(), scales.data(), n, k, 32, 4, nullptr, false, y.data(), n);
  for (int64_t j = 0; j < n; ++j) {
    EXPECT_TRUE(std::isnan(y[size_t(j)]));
    EXPECT_FLOAT_EQ(y[size_t(n + j)], 20.0f);
  }
}

// ---------------------------------------------------------------- level-independent

// The formats' round trips: int8 within half a step of d (and the fp16 rounding of d), int4
// within one step (a value of the opposite sign to the group's extreme may clamp from +8 to +7).
TEST(QuantFormats, WeightOnlyRoundTripBounds) {
  std::mt19937 rng(31);
  std::normal_distribution<float> g;
  const int64_t n = 13, k = 203;
  std::vector<float> w(size_t(n * k));
  for (auto& v : w) v = g(rng);
  for (int bits : {4, 8})
    for (int64_t group : {32, 64, 128}) {
      const int64_t groups = weight_only_groups(k, group);
      std::vector<uint8_t> q(size_t(n * weight_only_row_bytes(k, group, bits)));
      std::vector<uint16_t> scales(size_t(n * groups));
      quantize_weight_only(w.data(), n, k, k, group, bits, q.data(), scales.data());
      std::vector<float> back(w.size());
      dequantize_weight_only(q.data(), scales.data(), n, k, group, bits, back.data());
      const std::vector<float> mine = ref_decode(q, scales, n, k, group, bits);
      double err2 = 0, ref2 = 0;
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) {
          const size_t at = size_t(r * k + c);
          ASSERT_EQ(back[at], mine[at]) << "dequantize_weight_only disagrees with the format";
          float amax = 0;
          const int64_t g0 = c / group * group;
          for (int64_t t = g0; t < std::min(k, g0 + group); ++t) amax = std::max(amax, std::fabs(w[size_t(r * k + t)]));
          const float d = std::fabs(Half::to_float(scales[size_t(r * groups + c / group)]));
          const float bound = bits == 8 ? 0.5f * d + amax * 2e-3f : d * 1.005f;
          ASSERT_LE(std::fabs(back[at] - w[at]), bound) << "bits " << bits << " group " << group << " at " << r << ", "
                                                         << c;
          EXPECT_NEAR(d, amax / (bits == 8 ? 127.0f : 8.0f), amax * 1e-3f);
          err2 += double(back[at] - w[at]) * (back[at] - w[at]);
          ref2 += double(w[at]) * w[at];
        }
      // relative RMS error: int8 ~ 1/(127 sqrt 12) of the range, int4 ~ 1/(8 sqrt 12)
      EXPECT_LT(std::sqrt(err2 / ref2), bits == 8 ? 0.01 : 0.15) << bits << " bits, group " << group;
    }
}

TEST(QuantFormats, WeightsS8RoundTripAndScale) {
  std::mt19937 rng(32);
  std::normal_distribution<float> g;
  const int64_t n = 7, k = 55, ldw = 60;
  std::vector<float> w(size_t(n * ldw));
  for (auto& v : w) v = g(rng);
  std::vector<int8_t> q(size_t(n * k));
  std::vector<float> scale(static_cast<size_t>(n));
  quantize_weights_s8(w.data(), n, k, ldw, q.data(), scale.data());
  for (int64_t r = 0; r < n; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < k; ++c) amax = std::max(amax, std::fabs(w[size_t(r * ldw + c)]));
    EXPECT_EQ(scale[size_t(r)], amax / 127.0f);
    for (int64_t c = 0; c < k; ++c) {
      ASSERT_GE(q[size_t(r * k + c)], -127);
      ASSERT_LE(std::fabs(q[size_t(r * k + c)] * scale[size_t(r)] - w[size_t(r * ldw + c)]),
                0.5f * scale[size_t(r)] * 1.001f);
    }
  }
}

TEST(QuantArgs, BadArgumentsAreValueErrors) {
  const int8_t w8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_THROW(pack_int8_weights(w8, 0, 4, 4), ValueError);
  EXPECT_THROW(pack_int8_weights(w8, 2, 0, 4), ValueError);
  EXPECT_THROW(pack_int8_weights(w8, 2, 4, 3), ValueError);  // ldw < k
  const PackedInt8Weights p = pack_int8_weights(w8, 2, 4, 4);
  uint8_t a[8] = {};
  int32_t c32[4];
  float cf[4];
  uint8_t cu[4];
  EXPECT_THROW(int8_gemm_s32(a, 1, 3, p, c32, 2), ValueError);   // lda < k
  EXPECT_THROW(int8_gemm_s32(a, 1, 4, p, c32, 1), ValueError);   // ldc < n
  EXPECT_THROW(int8_gemm_s32(a, -1, 4, p, c32, 2), ValueError);  // negative m
  EXPECT_THROW(int8_gemm_s32(a, 1, 4, PackedInt8Weights{}, c32, 2), ValueError);  // not packed
  Int8Epilogue ep;  // no scales
  EXPECT_THROW(int8_gemm_f32(a, 1, 4, p, ep, cf, 2), ValueError);
  const float s[2] = {1, 1};
  const int32_t z[2] = {0, 0};
  ep.a_scale = s;
  ep.a_zero = z;
  ep.w_scale = s;
  EXPECT_NO_THROW(int8_gemm_f32(a, 1, 4, p, ep, cf, 2));
  EXPECT_THROW(int8_gemm_u8(a, 1, 4, p, ep, 0.0f, 0, cu, 2), ValueError);
  EXPECT_THROW(int8_gemm_u8(a, 1, 4, p, ep, kNaN, 0, cu, 2), ValueError);

  float x[8] = {};
  float sc;
  int32_t zp;
  EXPECT_THROW(quantize_u8(x, 8, 0.0f, 0, cu), ValueError);
  EXPECT_THROW(quantize_u8(x, 8, 1.0f, 256, cu), ValueError);
  EXPECT_THROW(quantize_u8(x, 8, 1.0f, -1, cu), ValueError);
  EXPECT_THROW(quantize_rows_u8(x, 1, 4, 3, cu, 4, &sc, &zp), ValueError);  // ldx < k
  float bad[2] = {1.0f, kNaN};
  int8_t q8[2];
  EXPECT_THROW(quantize_weights_s8(bad, 1, 2, 2, q8, &sc), ValueError);

  uint8_t q[64];
  uint16_t scales[2];
  EXPECT_THROW(check_weight_only_format(4, 32, 32, 3), ValueError);
  EXPECT_THROW(check_weight_only_format(4, 32, 48, 4), ValueError);
  EXPECT_THROW(check_weight_only_format(0, 32, 32, 4), ValueError);
  EXPECT_THROW(quantize_weight_only(bad, 1, 2, 2, 32, 4, q, scales), ValueError);  // NaN weight
  float wf[32] = {};
  quantize_weight_only(wf, 1, 32, 32, 32, 8, q, scales);
  float y[2];
  EXPECT_THROW(weight_only_gemm(x, 1, 31, q, scales, 1, 32, 32, 8, nullptr, false, y, 1), ValueError);  // ldx < k
  EXPECT_THROW(weight_only_gemm(x, 1, 32, q, scales, 2, 32, 32, 8, nullptr, false, y, 1), ValueError);  // ldy < n
  EXPECT_THROW(weight_only_gemm(x, -1, 32, q, scales, 1, 32, 32, 8, nullptr, false, y, 1), ValueError);
  EXPECT_THROW(weight_only_gemm(x, 1, 32, q, scales, 1, 32, 32, 5, nullptr, false, y, 1), ValueError);
}

// VNNI is reported only at the Avx512 level.
TEST(QuantArgs, VnniFollowsTheLevel) {
  const CpuIsa before = cpu_isa();
  set_cpu_isa(CpuIsa::Baseline);
  EXPECT_FALSE(cpu_has_avx512_vnni());
  EXPECT_STREQ(int8_gemm_kernel_name(), "baseline");
  EXPECT_STREQ(weight_only_kernel_name(), "baseline");
  set_cpu_isa(before);
}

INSTANTIATE_TEST_SUITE_P(Quant, QuantKernels, ::testing::ValuesIn(kLevels),
                         [](const auto& info) { return std::string(cpu_isa_name(info.param)); });

}  // namespace
