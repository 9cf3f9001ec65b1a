// The contiguous hot loops, compiled three times (csrc/CMakeLists.txt) with
// AIMASS_SIMD_ISA = baseline | avx2 | avx512 and that instruction set's flags. Elementwise loops
// are plain C++ under `#pragma omp simd`, which the compiler vectorises at the width of the ISA;
// exp / log / tanh / sigmoid are our own branch-free float32 approximations (Cephes-style
// polynomials, a few ulp) so they vectorise too. Reductions keep several vector accumulators
// (GCC vector extensions) so they run at memory speed rather than at the add latency.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "ops/cpu/scalar_ops.h"
#include "ops/cpu/simd/simd.h"

#include <immintrin.h>

#ifndef AIMASS_SIMD_ISA
#error "compile with -DAIMASS_SIMD_ISA=baseline|avx2|avx512"
#endif
#define AIMASS_STR2(x) #x
#define AIMASS_STR(x) AIMASS_STR2(x)

namespace aimass::simd::AIMASS_SIMD_ISA {

namespace {

using cpu::binary_result_t;
using cpu::binary_scalar;
using cpu::unary_scalar;

// ------------------------------------------------------------------ float32 math

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

[[gnu::always_inline]] inline float pow2i(int32_t n) { return std::bit_cast<float>((n + 127) << 23); }

// exp(x) = 2^n * e^r with n = round(x / ln 2), |r| <= ln2 / 2 (Cephes expf polynomial).
// 2^n is applied as two factors so that results in the subnormal range (x down to -103.97)
// and up to FLT_MAX are right; beyond those the answer is 0 or inf.
[[gnu::always_inline]] inline float exp_f32(float x) {
  constexpr float kHi = 88.72283935546875f, kLo = -103.972084045410f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
  float t = xc * 1.44269504088896341f + kRound;
  int32_t n = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  float nf = t - kRound;
  float r = xc - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t n1 = n >> 1;
  float y = p * pow2i(n1) * pow2i(n - n1);
  y = x > kHi ? kInf : y;
  y = x < kLo ? 0.0f : y;
  return x != x ? x : y;
}

// log(x) = log(m) + e ln 2 with m in [sqrt(1/2), sqrt(2)) (Cephes logf polynomial for log1p).
[[gnu::always_inline]] inline float log_f32(float x) {
  constexpr float kMinNormal = 1.17549435e-38f;
  bool subnormal = x < kMinNormal;
  float xs = subnormal ? x * 8388608.0f : x;  // * 2^23 makes a subnormal normal
  int32_t bits = std::bit_cast<int32_t>(xs);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  float m = std::bit_cast<float>((bits & 0x007fffff) | 0x3f000000);  // in [0.5, 1)
  bool below = m < 0.707106781186547524f;
  e = below ? e - 1 : e;
  e = subnormal ? e - 23 : e;
  m = below ? m + m - 1.0f : m - 1.0f;
  float fe = float(e);
  float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  float y = p * m * z;
  y = y + fe * -2.12194440e-4f;
  y = y - 0.5f * z;
  float r = m + y;
  r = r + fe * 0.693359375f;
  r = x == 0.0f ? -kInf : r;
  r = x < 0.0f ? kNaN : r;
  r = x == kInf ? kInf : r;
  return x != x ? x : r;
}

// |x| < 0.625: Cephes tanhf odd polynomial; beyond, 1 - 2 / (e^{2|x|} + 1) with x's sign
// (exp overflowing to inf gives exactly +-1; NaN stays NaN).
[[gnu::always_inline]] inline float tanh_f32(float x) {
  float ax = std::fabs(x);
  float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float big = std::copysign(1.0f - 2.0f / (exp_f32(ax + ax) + 1.0f), x);
  return ax < 0.625f ? small : big;
}

// With e = e^-|x| in [0, 1]: 1 / (1 + e) for x >= 0, e / (1 + e) below, so nothing overflows,
// tiny results keep their precision, and finite x never gives NaN.
[[gnu::always_inline]] inline float sigmoid_f32(float x) {
  float e = exp_f32(-std::fabs(x));
  float r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}

template <UnaryOp op>
[[gnu::always_inline]] inline float unary_f32_element(float x) {
  if constexpr (op == UnaryOp::Exp) return exp_f32(x);
  else if constexpr (op == UnaryOp::Log) return log_f32(x);
  else if constexpr (op == UnaryOp::Tanh) return tanh_f32(x);
  else if constexpr (op == UnaryOp::Sigmoid) return sigmoid_f32(x);
  else return unary_scalar<op>(x);
}

// ------------------------------------------------------------------ elementwise loops

template <UnaryOp op, typename T>
void unary_loop(const T* in, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = unary_f32_element<op>(in[i]);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = unary_scalar<op>(in[i]);
  }
}

template <typename T>
void unary(UnaryOp op, const T* in, T* out, int64_t n) {
  cpu::visit_unary_op(op, [&](auto tag) {
    if constexpr (decltype(tag)::value != UnaryOp::LogicalNot) unary_loop<decltype(tag)::value>(in, out, n);
  });
}

template <BinaryOp op, typename T>
void binary_loop(const T* a, int64_t a_step, const T* b, int64_t b_step, void* out_ptr, int64_t n) {
  auto* out = static_cast<binary_result_t<op, T>*>(out_ptr);
  if (a_step && b_step) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = binary_scalar<op>(a[i], b[i]);
  } else if (a_step) {
    const T bv = *b;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = binary_scalar<op>(a[i], bv);
  } else if (b_step) {
    const T av = *a;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = binary_scalar<op>(av, b[i]);
  } else {
    const auto value = binary_scalar<op>(*a, *b);
    for (int64_t i = 0; i < n; ++i) out[i] = value;
  }
}

template <typename T>
void binary(BinaryOp op, const T* a, int64_t a_step, const T* b, int64_t b_step, void* out, int64_t n) {
  cpu::visit_binary_op(op, [&](auto tag) { binary_loop<decltype(tag)::value>(a, a_step, b, b_step, out, n); });
}

// min(max(x, lo), hi) with NaN propagating.
void clamp_f32(const float* in, float lo, float hi, float* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float y = in[i] < lo ? lo : in[i];
    out[i] = y > hi ? hi : y;
  }
}

// ------------------------------------------------------------------ 16-bit float conversion

void f16_to_f32(const Half* in, float* out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i))));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
#endif
  for (; i < n; ++i) out[i] = float(in[i]);
}

void f32_to_f16(const float* in, Half* out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
  for (; i < n; ++i) out[i] = Half(in[i]);
}

void bf16_to_f32(const BFloat16* in, float* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(uint32_t(in[i].bits) << 16);
}

// Round to nearest even; NaN stays a (quiet) NaN. BFloat16::from_float without branches.
void f32_to_bf16(const float* in, BFloat16* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    uint32_t f = std::bit_cast<uint32_t>(in[i]);
    uint32_t rounded = (f + 0x7fffu + ((f >> 16) & 1u)) >> 16;
    uint32_t nan = (f >> 16) | 0x40u;
    out[i].bits = uint16_t((f & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

// ------------------------------------------------------------------ reductions

#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(kVectorBytes)));
  static constexpr int kLanes = kVectorBytes / int(sizeof(T));
  static type load(const T* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static type broadcast(T x) {
    type v;
    for (int j = 0; j < kLanes; ++j) v[j] = x;
    return v;
  }
};

// Four independent accumulators hide the add latency.
constexpr int kAccumulators = 4;
// Elements summed directly before the pairwise split: each lane adds <= kPairwiseBlock / (4 * lanes)
// values, so the error stays that of pairwise summation.
constexpr int64_t kPairwiseBlock = 2048;

template <typename T>
T sum_block(const T* x, int64_t n) {
  using V = Vec<T>;
  constexpr int64_t step = int64_t(V::kLanes) * kAccumulators;
  typename V::type acc[kAccumulators] = {};
  int64_t i = 0;
  for (; i + step <= n; i += step)
    for (int k = 0; k < kAccumulators; ++k) acc[k] += V::load(x + i + k * V::kLanes);
  typename V::type total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  T tail = 0;
  for (; i < n; ++i) tail += x[i];
  T s = 0;
  for (int j = 0; j < V::kLanes; ++j) s += total[j];
  return s + tail;
}

template <typename T>
T sum_pairwise(const T* x, int64_t n) {
  if (n <= kPairwiseBlock) return sum_block(x, n);
  int64_t half = (n / 2) / kPairwiseBlock * kPairwiseBlock;
  if (half == 0) half = kPairwiseBlock;
  return sum_pairwise(x, half) + sum_pairwise(x + half, n - half);
}

float sum_f32(const float* x, int64_t n) { return sum_pairwise(x, n); }
double sum_f64(const double* x, int64_t n) { return sum_pairwise(x, n); }

double sum_f32_as_f64(const float* x, int64_t n) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += double(x[i]);
  return s;
}

// NaN detection at one compare per two vectors: flags |= "a or b is NaN" (cmpunord), read once
// at the end of a loop. Cheaper than carrying the NaN through the max / min itself.
template <typename T>
struct NanFlags {
  using V = typename Vec<T>::type;
#if defined(__AVX512F__)
  uint32_t bits = 0;
  void add(V a, V b) {
    if constexpr (std::is_same_v<T, float>) bits |= _mm512_cmp_ps_mask(__m512(a), __m512(b), _CMP_UNORD_Q);
    else bits |= _mm512_cmp_pd_mask(__m512d(a), __m512d(b), _CMP_UNORD_Q);
  }
  bool any() const { return bits != 0; }
#elif defined(__AVX2__)
  V bits = {};
  void add(V a, V b) {
    if constexpr (std::is_same_v<T, float>) bits = V(_mm256_or_ps(__m256(bits), _mm256_cmp_ps(__m256(a), __m256(b), _CMP_UNORD_Q)));
    else bits = V(_mm256_or_pd(__m256d(bits), _mm256_cmp_pd(__m256d(a), __m256d(b), _CMP_UNORD_Q)));
  }
  bool any() const {
    if constexpr (std::is_same_v<T, float>) return _mm256_movemask_ps(__m256(bits)) != 0;
    else return _mm256_movemask_pd(__m256d(bits)) != 0;
  }
#else
  V bits = {};
  void add(V a, V b) {
    if constexpr (std::is_same_v<T, float>) bits = V(_mm_or_ps(__m128(bits), _mm_cmpunord_ps(__m128(a), __m128(b))));
    else bits = V(_mm_or_pd(__m128d(bits), _mm_cmpunord_pd(__m128d(a), __m128d(b))));
  }
  bool any() const {
    if constexpr (std::is_same_v<T, float>) return _mm_movemask_ps(__m128(bits)) != 0;
    else return _mm_movemask_pd(__m128d(bits)) != 0;
  }
#endif
};

// Max (Larger = true) or min of x[0..n), n > 0, ignoring NaN; *nan tells whether there was one.
template <bool Larger, typename T>
T extreme_and_nan(const T* x, int64_t n, bool* nan) {
  using V = Vec<T>;
  constexpr int64_t step = int64_t(V::kLanes) * kAccumulators;
  T best = x[0];
  bool seen = x[0] != x[0];
  int64_t i = 0;
  if (n >= step) {
    typename V::type acc[kAccumulators];
    NanFlags<T> flags;
    for (int k = 0; k < kAccumulators; ++k) acc[k] = V::load(x + k * V::kLanes);
    for (; i + step <= n; i += step) {
      typename V::type v[kAccumulators];
      for (int k = 0; k < kAccumulators; ++k) {
        v[k] = V::load(x + i + k * V::kLanes);
        if constexpr (Larger) acc[k] = acc[k] > v[k] ? acc[k] : v[k];
        else acc[k] = acc[k] < v[k] ? acc[k] : v[k];
      }
      flags.add(v[0], v[1]);
      flags.add(v[2], v[3]);
    }
    seen |= flags.any();
    for (int k = 1; k < kAccumulators; ++k) {  // fold the accumulators as vectors, then the lanes
      if constexpr (Larger) acc[0] = acc[0] > acc[k] ? acc[0] : acc[k];
      else acc[0] = acc[0] < acc[k] ? acc[0] : acc[k];
    }
    for (int j = 0; j < V::kLanes; ++j) best = (Larger ? acc[0][j] > best : acc[0][j] < best) ? acc[0][j] : best;
  }
  for (; i < n; ++i) {
    seen |= x[i] != x[i];
    best = (Larger ? x[i] > best : x[i] < best) ? x[i] : best;
  }
  *nan = seen;
  return best;
}

// Max (Larger = true) or min of x[0..n), NaN if any element is NaN.
template <bool Larger, typename T>
T extreme(const T* x, int64_t n) {
  bool nan;
  T best = extreme_and_nan<Larger>(x, n, &nan);
  return nan ? std::numeric_limits<T>::quiet_NaN() : best;
}

// Arg max / arg min of x[0..n), n > 0: the first occurrence, or the first NaN if there is one.
// One pass: each lane keeps its best value and the index where it first reached it (strictly
// better replaces, so ties keep the earlier index); the lanes are folded at the end, the
// smaller index winning ties. NaN is only detected in the pass (NanFlags) and then located by a
// scan, as it is rare. Indices are lanes of T's width (int32 for float32), so blocks of at most
// 2^30 elements are handled at a time.
template <bool Larger, typename T>
int64_t arg_extreme_block(const T* x, int64_t n, T* best_out) {
  using V = Vec<T>;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  using IV = typename Vec<I>::type;
  constexpr int kAcc = 2;
  constexpr int64_t step = int64_t(V::kLanes) * kAcc;
  T best = x[0];
  int64_t best_i = 0;
  int64_t i = 0;
  NanFlags<T> flags;
  if (n >= step) {
    typename V::type acc[kAcc];
    IV idx[kAcc], cur[kAcc];  // lane j of accumulator k: its best's index, and the index it is at
    for (int k = 0; k < kAcc; ++k) {
      acc[k] = V::load(x + k * V::kLanes);
      for (int j = 0; j < V::kLanes; ++j) cur[k][j] = I(k * V::kLanes + j);
      idx[k] = cur[k];
    }
    const IV advance = IV{} + I(step);
    for (; i + step <= n; i += step) {
      typename V::type v[kAcc];
      for (int k = 0; k < kAcc; ++k) {
        v[k] = V::load(x + i + k * V::kLanes);
        auto better = Larger ? v[k] > acc[k] : v[k] < acc[k];
        acc[k] = better ? v[k] : acc[k];
        idx[k] = better ? cur[k] : idx[k];
        cur[k] += advance;
      }
      flags.add(v[0], v[1]);
    }
    for (int k = 0; k < kAcc; ++k)
      for (int j = 0; j < V::kLanes; ++j) {
        T value = acc[k][j];
        int64_t at = idx[k][j];
        if ((Larger ? value > best : value < best) || (value == best && at < best_i)) {
          best = value;
          best_i = at;
        }
      }
  }
  bool nan = flags.any();
  for (int64_t t = i; t < n; ++t) {
    nan |= x[t] != x[t];
    if (Larger ? x[t] > best : x[t] < best) {
      best = x[t];
      best_i = t;
    }
  }
  if (nan) {
    int64_t t = 0;
    while (x[t] == x[t]) ++t;
    best_i = t;
  }
  *best_out = x[best_i];
  return best_i;
}

template <bool Larger, typename T>
int64_t arg_extreme(const T* x, int64_t n) {
  constexpr int64_t kBlock = int64_t(1) << 30;
  T best;
  int64_t best_i = arg_extreme_block<Larger>(x, std::min(kBlock, n), &best);
  for (int64_t b = kBlock; b < n && best == best; b += kBlock) {
    T v;
    int64_t at = b + arg_extreme_block<Larger>(x + b, std::min(kBlock, n - b), &v);
    if (v != v || (Larger ? v > best : v < best)) {
      best = v;
      best_i = at;
    }
  }
  return best_i;
}

float max_f32(const float* x, int64_t n) { return extreme<true>(x, n); }
float min_f32(const float* x, int64_t n) { return extreme<false>(x, n); }
double max_f64(const double* x, int64_t n) { return extreme<true>(x, n); }
double min_f64(const double* x, int64_t n) { return extreme<false>(x, n); }
int64_t argmax_f32(const float* x, int64_t n) { return arg_extreme<true>(x, n); }
int64_t argmin_f32(const float* x, int64_t n) { return arg_extreme<false>(x, n); }
int64_t argmax_f64(const double* x, int64_t n) { return arg_extreme<true>(x, n); }
int64_t argmin_f64(const double* x, int64_t n) { return arg_extreme<false>(x, n); }

template <typename T>
double sum_sq_dev(const T* x, int64_t n, double mean) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    double d = double(x[i]) - mean;
    s += d * d;
  }
  return s;
}

// Four rows per sweep over out, added in row order (the same rounding as one row at a time).
template <typename T>
void add_rows(const T* in, int64_t rows, int64_t cols, int64_t ld, T* out) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const T *r0 = in + r * ld, *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
#pragma omp simd
    for (int64_t i = 0; i < cols; ++i) out[i] = (((out[i] + r0[i]) + r1[i]) + r2[i]) + r3[i];
  }
  for (; r < rows; ++r) {
    const T* row = in + r * ld;
#pragma omp simd
    for (int64_t i = 0; i < cols; ++i) out[i] += row[i];
  }
}

// ------------------------------------------------------------------ where

// out = cond ? a : b on raw element bits: the bool byte becomes an all-ones / zero mask.
template <typename U>
void where_bits(const bool* cond, const void* a_ptr, const void* b_ptr, void* out_ptr, int64_t n) {
  const auto* c = reinterpret_cast<const uint8_t*>(cond);
  const U* a = static_cast<const U*>(a_ptr);
  const U* b = static_cast<const U*>(b_ptr);
  U* out = static_cast<U*>(out_ptr);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const U mask = U(U(0) - U(c[i] != 0));
    out[i] = U((a[i] & mask) | (b[i] & U(~mask)));
  }
}

}  // namespace

extern const KernelTable kTable;
const KernelTable kTable = {
    AIMASS_STR(AIMASS_SIMD_ISA),
    unary<float>,
    unary<double>,
    binary<float>,
    binary<double>,
    clamp_f32,
    f16_to_f32,
    f32_to_f16,
    bf16_to_f32,
    f32_to_bf16,
    sum_f32,
    sum_f64,
    sum_f32_as_f64,
    max_f32,
    min_f32,
    max_f64,
    min_f64,
    argmax_f32,
    argmin_f32,
    argmax_f64,
    argmin_f64,
    sum_sq_dev<float>,
    sum_sq_dev<double>,
    add_rows<float>,
    add_rows<double>,
    {where_bits<uint8_t>, where_bits<uint16_t>, where_bits<uint32_t>, where_bits<uint64_t>},
};

}  // namespace aimass::simd::AIMASS_SIMD_ISA
