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

#include "ops/activation_ops.h"
#include "ops/cpu/simd/simd.h"
#include "ops/scalar_ops.h"

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

// ------------------------------------------------------------------ vectors

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
  // A load kept in a register: otherwise GCC folds the load into every instruction that uses
  // the vector (the max and the NaN check both), and the extra loads slow the streaming loops.
  static type load_once(const T* p) {
    type v = load(p);
    asm("" : "+v"(v));
    return v;
  }
  static type broadcast(T x) {
    type v;
    for (int j = 0; j < kLanes; ++j) v[j] = x;
    return v;
  }
};

// A comparison of two vectors (GCC vector extensions, IEEE: NaN compares false except !=) gives
// lanes of all ones / zero. mask_bits packs them to one bit per lane, lane 0 in bit 0.
template <typename M>
[[gnu::always_inline]] inline uint64_t mask_bits(M m) {
  constexpr bool wide = sizeof(m[0]) == 8;
#if defined(__AVX512F__)
  if constexpr (wide) return _mm512_movepi64_mask(__m512i(m));
  else return _mm512_movepi32_mask(__m512i(m));
#elif defined(__AVX2__)
  if constexpr (wide) return uint32_t(_mm256_movemask_pd(__m256d(m)));
  else return uint32_t(_mm256_movemask_ps(__m256(m)));
#else
  if constexpr (wide) return uint32_t(_mm_movemask_pd(__m128d(m)));
  else return uint32_t(_mm_movemask_ps(__m128(m)));
#endif
}

// out[k] = bit k of bits (0 / 1), k < kVectorBytes: one vector store of bool bytes.
[[gnu::always_inline]] inline void store_bits_as_bytes(uint64_t bits, bool* out) {
#if defined(__AVX512F__)
  _mm512_storeu_si512(out, _mm512_maskz_mov_epi8(__mmask64(bits), _mm512_set1_epi8(1)));
#else
  // Byte k gets a copy of the bits' byte k / 8, then keeps bit k % 8, clamped to 0 / 1.
#if defined(__AVX2__)
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int32_t(uint32_t(bits))), spread);
  v = _mm256_and_si256(v, _mm256_set1_epi64x(int64_t(0x8040201008040201)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_min_epu8(v, _mm256_set1_epi8(1)));
#else
  __m128i v = _mm_cvtsi32_si128(int32_t(bits));
  v = _mm_unpacklo_epi8(v, v);   // b0 b0 b1 b1 ...
  v = _mm_unpacklo_epi16(v, v);  // b0 x4, b1 x4, ...
  v = _mm_unpacklo_epi32(v, v);  // b0 x8, b1 x8
  v = _mm_and_si128(v, _mm_set1_epi64x(int64_t(0x8040201008040201)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_min_epu8(v, _mm_set1_epi8(1)));
#endif
#endif
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


// ------------------------------------------------------------------ comparisons to bool

template <BinaryOp op, typename V>
[[gnu::always_inline]] inline auto compare_vec(V a, V b) {
  if constexpr (op == BinaryOp::Eq) return a == b;
  else if constexpr (op == BinaryOp::Ne) return a != b;
  else if constexpr (op == BinaryOp::Lt) return a < b;
  else if constexpr (op == BinaryOp::Le) return a <= b;
  else if constexpr (op == BinaryOp::Gt) return a > b;
  else return a >= b;
}

// out[i] = a[i] op b[i] (a[0] when !AStep, likewise b): kVectorBytes elements per step, their
// compare masks gathered as bits (one movemask per vector) and stored as one vector of bytes.
template <BinaryOp op, bool AStep, bool BStep, typename T>
void compare_steps(const T* a, const T* b, bool* out, int64_t n) {
  using V = Vec<T>;
  constexpr int64_t step = kVectorBytes;
  const typename V::type av = V::broadcast(*a), bv = V::broadcast(*b);
  int64_t i = 0;
  for (; i + step <= n; i += step) {
    uint64_t bits = 0;
    for (int k = 0; k < int(sizeof(T)); ++k) {
      const int64_t at = i + k * V::kLanes;
      bits |= mask_bits(compare_vec<op>(AStep ? V::load(a + at) : av, BStep ? V::load(b + at) : bv)) << (k * V::kLanes);
    }
    store_bits_as_bytes(bits, out + i);
  }
  for (; i < n; ++i) out[i] = binary_scalar<op>(a[AStep ? i : 0], b[BStep ? i : 0]);
}

template <BinaryOp op, typename T>
void compare_loop(const T* a, int64_t a_step, const T* b, int64_t b_step, bool* out, int64_t n) {
  if (a_step && b_step) compare_steps<op, true, true>(a, b, out, n);
  else if (a_step) compare_steps<op, true, false>(a, b, out, n);
  else if (b_step) compare_steps<op, false, true>(a, b, out, n);
  else std::memset(out, binary_scalar<op>(*a, *b) ? 1 : 0, size_t(n));
}

template <typename T>
void compare(BinaryOp op, const T* a, int64_t a_step, const T* b, int64_t b_step, bool* out, int64_t n) {
  cpu::visit_binary_op(op, [&](auto tag) {
    constexpr BinaryOp o = decltype(tag)::value;
    if constexpr (o >= BinaryOp::Eq && o <= BinaryOp::Ge) compare_loop<o>(a, a_step, b, b_step, out, n);
  });
}

// LogicalAnd / LogicalOr of bool bytes (any nonzero byte is true).
template <bool And, bool AStep, bool BStep>
void logical_steps(const uint8_t* a, const uint8_t* b, uint8_t* out, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t x = a[AStep ? i : 0], y = b[BStep ? i : 0];
    out[i] = And ? uint8_t((x != 0) & (y != 0)) : uint8_t((x | y) != 0);
  }
}

void logical_bool(BinaryOp op, const bool* a_ptr, int64_t a_step, const bool* b_ptr, int64_t b_step, bool* out_ptr, int64_t n) {
  const auto* a = reinterpret_cast<const uint8_t*>(a_ptr);
  const auto* b = reinterpret_cast<const uint8_t*>(b_ptr);
  auto* out = reinterpret_cast<uint8_t*>(out_ptr);
  auto run = [&](auto and_tag) {
    constexpr bool And = decltype(and_tag)::value;
    if (a_step && b_step) logical_steps<And, true, true>(a, b, out, n);
    else if (a_step) logical_steps<And, true, false>(a, b, out, n);
    else if (b_step) logical_steps<And, false, true>(a, b, out, n);
    else logical_steps<And, false, false>(a, b, out, n);
  };
  if (op == BinaryOp::LogicalAnd) run(std::true_type{});
  else run(std::false_type{});
}

void logical_not_bool(const bool* in_ptr, bool* out_ptr, int64_t n) {
  const auto* in = reinterpret_cast<const uint8_t*>(in_ptr);
  auto* out = reinterpret_cast<uint8_t*>(out_ptr);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = uint8_t(in[i] == 0);
}

// Arithmetic ops here; comparisons through compare_loop (the plain loop does not vectorise the
// narrowing to bytes well).
template <typename T>
void binary(BinaryOp op, const T* a, int64_t a_step, const T* b, int64_t b_step, void* out, int64_t n) {
  cpu::visit_binary_op(op, [&](auto tag) {
    constexpr BinaryOp o = decltype(tag)::value;
    if constexpr (o >= BinaryOp::Eq && o <= BinaryOp::Ge) compare_loop<o>(a, a_step, b, b_step, static_cast<bool*>(out), n);
    else binary_loop<o>(a, a_step, b, b_step, out, n);
  });
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
        v[k] = V::load_once(x + i + k * V::kLanes);
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

// Index of the first x[i] == v in x[0..n) (the first NaN when IsNaN), which must exist. Four
// vectors per step with one branch on their or-ed masks.
template <bool IsNaN, typename T>
int64_t find_first(const T* x, int64_t n, T v) {
  using V = Vec<T>;
  constexpr int64_t step = int64_t(V::kLanes) * 4;
  const typename V::type target = V::broadcast(v);
  auto hit = [&](int64_t at) {
    typename V::type y = V::load(x + at);
    if constexpr (IsNaN) return y != y;
    else return y == target;
  };
  int64_t i = 0;
  for (; i + step <= n; i += step)
    if (mask_bits(hit(i) | hit(i + V::kLanes) | hit(i + 2 * V::kLanes) | hit(i + 3 * V::kLanes))) break;
  for (; i + V::kLanes <= n; i += V::kLanes)
    if (uint64_t bits = mask_bits(hit(i))) return i + std::countr_zero(bits);
  for (; i < n; ++i)
    if (IsNaN ? x[i] != x[i] : x[i] == v) return i;
  return n;  // unreachable when the element exists
}

// Arg max / arg min of x[0..n), n > 0: the first occurrence, or the first NaN if there is one.
// One pass over steps of 4 vectors: the step's lane-wise best (a tree of 3 max) updates each
// lane's best so far, and, when strictly better (so earlier ties win), the number of the step
// that reached it. Only step numbers are tracked, not element indices, so the loop carries one
// short chain (best -> compare -> best). At the end, the earliest step among the lanes holding
// the overall best holds its first occurrence: 4 compares and movemasks of that step locate
// it, without a data-dependent scan. The scalar tail is compared last; a NaN anywhere (NaN
// flags, as in max_f32) is located by a scan, as it is rare. +0 and -0 compare equal, so the
// first of either is the first occurrence of a zero extreme.
template <bool Larger, typename T>
int64_t arg_extreme(const T* x, int64_t n) {
  using V = Vec<T>;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;  // step numbers, T's lanes
  using IV = typename Vec<I>::type;
  constexpr int L = V::kLanes;
  constexpr int64_t step = int64_t(L) * 4;
  static_assert(step <= 64, "a step's compare bits must fit in uint64_t");
  constexpr T worst = Larger ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
  auto better = [](auto a, auto b) { return Larger ? a > b : a < b; };
  const int64_t full = n / step * step;
  T best_value = x[0];
  int64_t best_i = 0;
  if (full > 0) {
    typename V::type best = V::broadcast(worst);
    IV best_step = {}, current = {};
    const IV one = Vec<I>::broadcast(1);
    NanFlags<T> flags;
    for (int64_t i = 0; i < full; i += step) {
      const typename V::type v0 = V::load_once(x + i), v1 = V::load_once(x + i + L),
                             v2 = V::load_once(x + i + 2 * L), v3 = V::load_once(x + i + 3 * L);
      flags.add(v0, v1);
      flags.add(v2, v3);
      const typename V::type m01 = better(v1, v0) ? v1 : v0, m23 = better(v3, v2) ? v3 : v2;
      const typename V::type m = better(m23, m01) ? m23 : m01;
      const auto improved = better(m, best);
      best = improved ? m : best;
      best_step = improved ? current : best_step;
      current += one;
    }
    if (flags.any()) return find_first<true>(x, n, T(0));
    best_value = best[0];
    for (int j = 1; j < L; ++j) best_value = better(best[j], best_value) ? best[j] : best_value;
    I first = std::numeric_limits<I>::max();
    for (int j = 0; j < L; ++j) first = (best[j] == best_value && best_step[j] < first) ? best_step[j] : first;
    const T* p = x + int64_t(first) * step;
    const typename V::type target = V::broadcast(best_value);
    uint64_t bits = 0;
    for (int k = 0; k < 4; ++k) bits |= mask_bits(V::load(p + k * L) == target) << (k * L);
    best_i = int64_t(first) * step + std::countr_zero(bits);
  }
  for (int64_t t = full; t < n; ++t) {
    if (x[t] != x[t]) return t;
    if (better(x[t], best_value)) {
      best_value = x[t];
      best_i = t;
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

// ------------------------------------------------------------------ activations

// erfc(x) with a relative error below 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev
// fit of erfc(z) e^{z^2}), branch-free around exp_f32 so that it vectorises.
[[gnu::always_inline]] inline float erfc_f32(float x) {
  const float z = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float r = t * exp_f32(p - z * z);
  return x >= 0.0f ? r : 2.0f - r;
}

// The float32 rules of ops/activation_ops.h on the SIMD table's exp / tanh / sigmoid.
template <ActivationOp op>
[[gnu::always_inline]] inline float activation_f32_element(float x, float param) {
  namespace a = activation_ops;
  if constexpr (op == ActivationOp::Gelu) {
    return x * (0.5f * erfc_f32(-x * float(a::kSqrtHalf)));
  } else if constexpr (op == ActivationOp::GeluTanh) {
    const float u = float(a::kSqrt2OverPi) * (x + float(a::kGeluCubic) * x * x * x);
    return 0.5f * x * (1.0f + tanh_f32(u));
  } else if constexpr (op == ActivationOp::Silu) {
    return x * sigmoid_f32(x);
  } else {
    return x > 0.0f ? x : x * param;
  }
}

template <ActivationOp op>
[[gnu::always_inline]] inline float activation_derivative_f32(float x, float param) {
  namespace a = activation_ops;
  if constexpr (op == ActivationOp::Gelu) {
    return 0.5f * erfc_f32(-x * float(a::kSqrtHalf)) + x * float(a::kInvSqrt2Pi) * exp_f32(-0.5f * x * x);
  } else if constexpr (op == ActivationOp::GeluTanh) {
    const float u = float(a::kSqrt2OverPi) * (x + float(a::kGeluCubic) * x * x * x);
    const float t = tanh_f32(u);
    const float du = float(a::kSqrt2OverPi) * (1.0f + float(3 * a::kGeluCubic) * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
  } else if constexpr (op == ActivationOp::Silu) {
    const float s = sigmoid_f32(x);
    return s * (1.0f + x * (1.0f - s));
  } else {
    return x > 0.0f ? 1.0f : param;
  }
}

template <typename T>
void activation(ActivationOp op, const T* in, T* out, int64_t n, T param) {
  activation_ops::visit_activation(op, [&](auto tag) {
    constexpr ActivationOp o = decltype(tag)::value;
    if constexpr (std::is_same_v<T, float>) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) out[i] = activation_f32_element<o>(in[i], param);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) out[i] = activation_ops::activation<o>(in[i], param);
    }
  });
}

template <typename T>
void activation_backward(ActivationOp op, const T* x, const T* grad_out, T* grad_in, int64_t n, T param) {
  activation_ops::visit_activation(op, [&](auto tag) {
    constexpr ActivationOp o = decltype(tag)::value;
    if constexpr (std::is_same_v<T, float>) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) grad_in[i] = grad_out[i] * activation_derivative_f32<o>(x[i], param);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) grad_in[i] = grad_out[i] * activation_ops::activation_derivative<o>(x[i], param);
    }
  });
}

// ------------------------------------------------------------------ layer norm rows

// sum of (x - m)^2 over x[0..n), pairwise over blocks as sum_pairwise.
template <typename T>
T sum_sq_dev_block(const T* x, int64_t n, T m) {
  using V = Vec<T>;
  constexpr int64_t step = int64_t(V::kLanes) * kAccumulators;
  const typename V::type mv = V::broadcast(m);
  typename V::type acc[kAccumulators] = {};
  int64_t i = 0;
  for (; i + step <= n; i += step)
    for (int k = 0; k < kAccumulators; ++k) {
      typename V::type d = V::load(x + i + k * V::kLanes) - mv;
      acc[k] += d * d;
    }
  typename V::type total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  T tail = 0;
  for (; i < n; ++i) tail += (x[i] - m) * (x[i] - m);
  T s = 0;
  for (int j = 0; j < V::kLanes; ++j) s += total[j];
  return s + tail;
}

template <typename T>
T sum_sq_dev_pairwise(const T* x, int64_t n, T m) {
  if (n <= kPairwiseBlock) return sum_sq_dev_block(x, n, m);
  int64_t half = (n / 2) / kPairwiseBlock * kPairwiseBlock;
  if (half == 0) half = kPairwiseBlock;
  return sum_sq_dev_pairwise(x, half, m) + sum_sq_dev_pairwise(x + half, n - half, m);
}

// Two passes for the statistics (exact for a constant row, unlike E[x^2] - E[x]^2), one to write.
template <typename T>
void layer_norm_row(const T* x, const T* w, const T* b, T* y, int64_t n, T eps, T* mean_out, T* rstd_out) {
  const T mean = sum_pairwise(x, n) / T(n);
  const T rstd = T(1) / std::sqrt(sum_sq_dev_pairwise(x, n, mean) / T(n) + eps);
  *mean_out = mean;
  *rstd_out = rstd;
  if (w && b) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
  } else if (w) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i];
  } else if (b) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd + b[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd;
  }
}

// Pass 1 gathers the row sums (and the weight / bias partials), pass 2 writes dx.
template <bool HasW, bool Acc, typename T>
void layer_norm_backward_row_impl(const T* dy, const T* x, const T* w, T mean, T rstd, T* dx, T* dw, T* db, int64_t n) {
  T sum_g = 0, sum_gx = 0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
  for (int64_t i = 0; i < n; ++i) {
    const T xhat = (x[i] - mean) * rstd;
    const T g = HasW ? dy[i] * w[i] : dy[i];
    sum_g += g;
    sum_gx += g * xhat;
    if constexpr (Acc) {
      dw[i] += dy[i] * xhat;
      db[i] += dy[i];
    }
  }
  const T a = sum_g / T(n), c = sum_gx / T(n);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const T xhat = (x[i] - mean) * rstd;
    const T g = HasW ? dy[i] * w[i] : dy[i];
    dx[i] = rstd * (g - a - xhat * c);
  }
}

template <typename T>
void layer_norm_backward_row(const T* dy, const T* x, const T* w, T mean, T rstd, T* dx, T* dw, T* db, int64_t n) {
  if (w && dw) layer_norm_backward_row_impl<true, true>(dy, x, w, mean, rstd, dx, dw, db, n);
  else if (w) layer_norm_backward_row_impl<true, false>(dy, x, w, mean, rstd, dx, dw, db, n);
  else if (dw) layer_norm_backward_row_impl<false, true>(dy, x, w, mean, rstd, dx, dw, db, n);
  else layer_norm_backward_row_impl<false, false>(dy, x, w, mean, rstd, dx, dw, db, n);
}

}  // namespace

extern const KernelTable kTable;
// By field name: a kernel cannot land in another's slot of the same type. C++ keeps simd.h's
// order (a field out of order is an error) and a field left out fails the build
// (-Werror=missing-field-initializers, csrc/CMakeLists.txt).
const KernelTable kTable = {
    .level = AIMASS_STR(AIMASS_SIMD_ISA),
    .unary_f32 = unary<float>,
    .unary_f64 = unary<double>,
    .binary_f32 = binary<float>,
    .binary_f64 = binary<double>,
    .compare_f32 = compare<float>,
    .compare_f64 = compare<double>,
    .compare_i32 = compare<int32_t>,
    .compare_i64 = compare<int64_t>,
    .logical_bool = logical_bool,
    .logical_not_bool = logical_not_bool,
    .clamp_f32 = clamp_f32,
    .f16_to_f32 = f16_to_f32,
    .f32_to_f16 = f32_to_f16,
    .bf16_to_f32 = bf16_to_f32,
    .f32_to_bf16 = f32_to_bf16,
    .sum_f32 = sum_f32,
    .sum_f64 = sum_f64,
    .sum_f32_as_f64 = sum_f32_as_f64,
    .max_f32 = max_f32,
    .min_f32 = min_f32,
    .max_f64 = max_f64,
    .min_f64 = min_f64,
    .argmax_f32 = argmax_f32,
    .argmin_f32 = argmin_f32,
    .argmax_f64 = argmax_f64,
    .argmin_f64 = argmin_f64,
    .sum_sq_dev_f32 = sum_sq_dev<float>,
    .sum_sq_dev_f64 = sum_sq_dev<double>,
    .add_rows_f32 = add_rows<float>,
    .add_rows_f64 = add_rows<double>,
    .where_bits = {where_bits<uint8_t>, where_bits<uint16_t>, where_bits<uint32_t>, where_bits<uint64_t>},
    .activation_f32 = activation<float>,
    .activation_f64 = activation<double>,
    .activation_backward_f32 = activation_backward<float>,
    .activation_backward_f64 = activation_backward<double>,
    .layer_norm_row_f32 = layer_norm_row<float>,
    .layer_norm_row_f64 = layer_norm_row<double>,
    .layer_norm_backward_row_f32 = layer_norm_backward_row<float>,
    .layer_norm_backward_row_f64 = layer_norm_backward_row<double>,
};

}  // namespace aimass::simd::AIMASS_SIMD_ISA
