// The CPU kernels (ops/cpu) called directly, against plain scalar loops written here, on
// contiguous, transposed and broadcast (stride-0) operands, at every SIMD level this CPU has.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "core/philox.h"
#include "ops/cpu/simd/simd.h"
#include "ops/kernels.h"

using namespace aimass;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Element k (row-major over the logical shape) of any tensor, as double.
int64_t element_offset(const Tensor& t, int64_t k) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (k % t.shape()[d]) * t.strides()[d];
    k /= t.shape()[d];
  }
  return off;
}
double get(const Tensor& t, int64_t k) {
  return visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return double(acc_t<T>(t.data<T>()[element_offset(t, k)]));
  });
}
void set(const Tensor& t, int64_t k, double v) {
  visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) t.data<T>()[element_offset(t, k)] = T(float(v));
    else t.data<T>()[element_offset(t, k)] = T(v);
  });
}
// v rounded to dtype, as double (the reference's last step).
double round_to(DType dt, double v) {
  Tensor t = Tensor::empty({}, dt);
  set(t, 0, v);
  return get(t, 0);
}

Tensor filled(const Shape& shape, DType dt, double lo, double hi, unsigned seed) {
  Tensor t = Tensor::empty(shape, dt);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t k = 0; k < t.numel(); ++k) {
    double v = dist(gen);
    set(t, k, is_floating(dt) ? v : std::trunc(v));
  }
  return t;
}

// The three layouts of an (r, c) operand: contiguous, a transposed view of a (c, r) tensor, and
// a row broadcast over r (stride 0).
enum class Layout { Contiguous, Transposed, Broadcast };
Tensor make_input(Layout layout, int64_t r, int64_t c, DType dt, double lo, double hi, unsigned seed) {
  switch (layout) {
    case Layout::Contiguous: return filled({r, c}, dt, lo, hi, seed);
    case Layout::Transposed: return filled({c, r}, dt, lo, hi, seed).as_strided({r, c}, {1, r}, 0);
    case Layout::Broadcast: break;
  }
  return filled({1, c}, dt, lo, hi, seed).as_strided({r, c}, {0, 1}, 0);
}

bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}
double rtol_for(DType dt) {
  return dt == DType::Float16 ? 2e-3 : dt == DType::BFloat16 ? 1.6e-2 : dt == DType::Float32 ? 2e-6 : 1e-12;
}

// Every test runs once per SIMD level; levels above cpu_isa_limit() (the CPU's, or AIMASS_CPU_ISA)
// are skipped.
class CpuKernels : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    before_ = cpu_isa();
    const CpuIsa level = cpu_isa_from_name(GetParam());
    if (int(level) > int(cpu_isa_limit())) GTEST_SKIP() << GetParam() << " is above " << cpu_isa_name(cpu_isa_limit());
    set_cpu_isa(level);
  }
  void TearDown() override { set_cpu_isa(before_); }
  CpuIsa before_ = CpuIsa::Baseline;
};

const DType kDTypes[] = {DType::Float32, DType::Float64, DType::Float16, DType::Int32};
const Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Broadcast};

// ------------------------------------------------------------------ unary

double unary_ref(UnaryOp op, double x) {
  switch (op) {
    case UnaryOp::Neg: return -x;
    case UnaryOp::Abs: return std::fabs(x);
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Sqrt: return std::sqrt(x);
    case UnaryOp::Tanh: return std::tanh(x);
    case UnaryOp::Sigmoid: return 1 / (1 + std::exp(-x));
    case UnaryOp::Relu: return x < 0 ? 0 : x;
    case UnaryOp::Sign: return x > 0 ? 1 : x < 0 ? -1 : x;
    case UnaryOp::Square: return x * x;
    case UnaryOp::Reciprocal: return 1 / x;
    case UnaryOp::Rsqrt: return 1 / std::sqrt(x);
    case UnaryOp::Sin: return std::sin(x);
    case UnaryOp::Cos: return std::cos(x);
    case UnaryOp::Floor: return std::floor(x);
    case UnaryOp::Ceil: return std::ceil(x);
    case UnaryOp::Round: return std::nearbyint(x);
    case UnaryOp::LogicalNot: break;
  }
  return x == 0;
}

const UnaryOp kUnaryOps[] = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt, UnaryOp::Tanh,
                             UnaryOp::Sigmoid, UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Square, UnaryOp::Reciprocal,
                             UnaryOp::Rsqrt, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Floor, UnaryOp::Ceil,
                             UnaryOp::Round, UnaryOp::LogicalNot};

TEST_P(CpuKernels, UnaryMatchesReferenceOnEveryLayout) {
  for (DType dt : {DType::Float32, DType::Float64, DType::Float16}) {
    for (Layout layout : kLayouts) {
      for (UnaryOp op : kUnaryOps) {
        bool positive = op == UnaryOp::Log || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt;
        Tensor in = make_input(layout, 23, 57, dt, positive ? 0.01 : -12, 12, 7);
        Tensor out = Tensor::empty({23, 57}, op == UnaryOp::LogicalNot ? DType::Bool : dt);
        cpu::unary(op, in, out);
        for (int64_t k = 0; k < out.numel(); ++k) {
          double want = round_to(out.dtype(), unary_ref(op, get(in, k)));
          ASSERT_TRUE(close(get(out, k), want, rtol_for(dt), 1e-30))
              << "op " << int(op) << " " << dtype_name(dt) << " layout " << int(layout) << " x=" << get(in, k)
              << " got " << get(out, k) << " want " << want;
        }
      }
    }
  }
}

TEST_P(CpuKernels, UnaryOnIntegers) {
  Tensor in = make_input(Layout::Transposed, 9, 13, DType::Int32, -100, 100, 3);
  Tensor out = Tensor::empty({9, 13}, DType::Int32);
  for (UnaryOp op : {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Square, UnaryOp::Floor}) {
    cpu::unary(op, in, out);
    for (int64_t k = 0; k < out.numel(); ++k) ASSERT_EQ(get(out, k), unary_ref(op, get(in, k))) << int(op);
  }
}

// exp / log / tanh / sigmoid in float32 (our own polynomials) at most a few ulp from the
// correctly rounded answer over their whole range, and right at the special values.
TEST_P(CpuKernels, Float32TranscendentalsAreAccurate) {
  struct Case {
    UnaryOp op;
    double lo, hi;
  };
  for (Case c : {Case{UnaryOp::Exp, -103.5, 88.7}, Case{UnaryOp::Log, 1e-44, 3e38}, Case{UnaryOp::Tanh, -12, 12},
                 Case{UnaryOp::Sigmoid, -80, 30}}) {
    const int64_t n = 100003;
    Tensor in = Tensor::empty({n}, DType::Float32), out = Tensor::empty({n}, DType::Float32);
    for (int64_t k = 0; k < n; ++k) {
      double t = double(k) / double(n - 1);
      in.data<float>()[k] = float(c.op == UnaryOp::Log ? std::exp(std::log(c.lo) + t * (std::log(c.hi) - std::log(c.lo)))
                                                       : c.lo + t * (c.hi - c.lo));
    }
    cpu::unary(c.op, in, out);
    double worst_ulps = 0;
    for (int64_t k = 0; k < n; ++k) {
      double want = unary_ref(c.op, double(in.data<float>()[k]));
      float got = out.data<float>()[k], want_f = float(want);
      double ulp = std::max(double(std::nextafter(std::fabs(want_f), INFINITY) - std::fabs(want_f)), 1.4e-45);
      worst_ulps = std::max(worst_ulps, std::fabs(double(got) - want) / ulp);
    }
    EXPECT_LT(worst_ulps, 4.0) << "op " << int(c.op);
  }
}

TEST_P(CpuKernels, Float32TranscendentalsSpecialValues) {
  const std::vector<float> xs = {0.0f, -0.0f, float(kInf), -float(kInf), float(kNaN), 1e-40f, -1e-40f, 88.8f,
                                 -88.8f, -104.0f, 100.0f, -100.0f, 1e30f, -1e30f, 1.0f, -1.0f, 0.625f, -0.625f};
  for (UnaryOp op : {UnaryOp::Exp, UnaryOp::Log, UnaryOp::Tanh, UnaryOp::Sigmoid}) {
    // Pad to a SIMD-sized length so the vector body (not only the tail) sees every value.
    std::vector<float> values;
    for (int rep = 0; rep < 8; ++rep) values.insert(values.end(), xs.begin(), xs.end());
    Tensor in = Tensor::empty({int64_t(values.size())}, DType::Float32);
    Tensor out = Tensor::empty({int64_t(values.size())}, DType::Float32);
    std::copy(values.begin(), values.end(), in.data<float>());
    cpu::unary(op, in, out);
    for (size_t k = 0; k < values.size(); ++k) {
      double want = double(float(unary_ref(op, double(values[k]))));
      double got = out.data<float>()[k];
      EXPECT_TRUE(close(got, want, 4e-7, 1e-44)) << "op " << int(op) << " x=" << values[k] << " got " << got << " want " << want;
      if (op == UnaryOp::Sigmoid && std::isfinite(values[k])) {
        EXPECT_FALSE(std::isnan(got));
      }
      if (op == UnaryOp::Log && values[k] == 0.0f) {
        EXPECT_EQ(got, -kInf);
      }
    }
  }
}

// ------------------------------------------------------------------ binary

double floor_div_ref(double a, double b) { return b == 0 ? 0 : std::floor(a / b); }
double mod_ref(double a, double b, bool integer) {
  if (integer && b == 0) return 0;
  double r = std::fmod(a, b);
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
double binary_ref(BinaryOp op, double a, double b, bool integer) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return integer ? floor_div_ref(a, b) : a / b;
    case BinaryOp::Pow: return std::pow(a, b);
    case BinaryOp::Maximum: return std::isnan(a) || a > b ? a : b;
    case BinaryOp::Minimum: return std::isnan(a) || a < b ? a : b;
    case BinaryOp::Remainder: return mod_ref(a, b, integer);
    case BinaryOp::Eq: return a == b;
    case BinaryOp::Ne: return a != b;
    case BinaryOp::Lt: return a < b;
    case BinaryOp::Le: return a <= b;
    case BinaryOp::Gt: return a > b;
    case BinaryOp::Ge: return a >= b;
    case BinaryOp::LogicalAnd: return a != 0 && b != 0;
    case BinaryOp::LogicalOr: break;
  }
  return a != 0 || b != 0;
}

TEST_P(CpuKernels, BinaryMatchesReferenceOnEveryLayout) {
  const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow,
                          BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Remainder, BinaryOp::Eq, BinaryOp::Ne,
                          BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge, BinaryOp::LogicalAnd,
                          BinaryOp::LogicalOr};
  for (DType dt : kDTypes) {
    const bool integer = !is_floating(dt);
    for (Layout la : kLayouts)
      for (Layout lb : kLayouts)
        for (BinaryOp op : ops) {
          const bool pow = op == BinaryOp::Pow;
          Tensor a = make_input(la, 19, 41, dt, pow ? 0.5 : -20, pow ? 3 : 20, 11);
          Tensor b = make_input(lb, 19, 41, dt, pow ? 0 : 1, pow ? 4 : 9, 12);
          if (!pow && (op == BinaryOp::Sub || op == BinaryOp::Maximum || op == BinaryOp::Eq))
            b = make_input(lb, 19, 41, dt, -20, 20, 11);  // equal elements where layouts agree
          Tensor out = Tensor::empty({19, 41}, is_comparison(op) ? DType::Bool : dt);
          cpu::binary(op, a, b, out);
          for (int64_t k = 0; k < out.numel(); ++k) {
            double want = round_to(out.dtype(), binary_ref(op, get(a, k), get(b, k), integer));
            ASSERT_TRUE(close(get(out, k), want, rtol_for(dt) * (pow ? 8 : 1), 0))
                << "op " << int(op) << " " << dtype_name(dt) << " layouts " << int(la) << int(lb) << " a=" << get(a, k)
                << " b=" << get(b, k) << " got " << get(out, k) << " want " << want;
          }
        }
  }
}

TEST_P(CpuKernels, BinaryIntegerEdgeCasesWrapAndNeverTrap) {
  Tensor a = Tensor::empty({4}, DType::Int32), b = Tensor::empty({4}, DType::Int32), out = Tensor::empty({4}, DType::Int32);
  const int32_t av[] = {INT32_MIN, 7, -7, INT32_MAX}, bv[] = {-1, 0, 2, 1};
  std::copy(av, av + 4, a.data<int32_t>());
  std::copy(bv, bv + 4, b.data<int32_t>());
  cpu::binary(BinaryOp::Div, a, b, out);
  EXPECT_EQ(out.data<int32_t>()[0], INT32_MIN);  // wraps, as NumPy
  EXPECT_EQ(out.data<int32_t>()[1], 0);          // division by zero gives 0
  EXPECT_EQ(out.data<int32_t>()[2], -4);         // floor division
  cpu::binary(BinaryOp::Add, a, b, out);
  EXPECT_EQ(out.data<int32_t>()[3], INT32_MIN);
  cpu::binary(BinaryOp::Remainder, a, b, out);
  EXPECT_EQ(out.data<int32_t>()[0], 0);
  EXPECT_EQ(out.data<int32_t>()[2], 1);
}

// The SIMD comparison loops (bool bytes out) on lengths around every vector width and step
// (the widest step is 64 elements), with ties, +-0, +-inf and NaN, for both operands arrays,
// either one a repeated scalar (step 0), or both; through the table and through cpu::binary.
template <typename T>
void check_comparisons_against_scalar_loop(DType dt) {
  const simd::KernelTable& k = simd::kernels();
  const BinaryOp ops[] = {BinaryOp::Eq, BinaryOp::Ne, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge};
  std::vector<T> pool = {T(0), T(1), T(-1), T(2)};
  if constexpr (std::is_floating_point_v<T>)
    pool.insert(pool.end(), {T(-0.0), std::numeric_limits<T>::infinity(), -std::numeric_limits<T>::infinity(),
                             std::numeric_limits<T>::quiet_NaN()});
  else
    pool.insert(pool.end(), {std::numeric_limits<T>::min(), std::numeric_limits<T>::max()});
  std::mt19937 gen(7);
  std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
  auto want = [](BinaryOp op, T a, T b) {
    switch (op) {
      case BinaryOp::Eq: return a == b;
      case BinaryOp::Ne: return a != b;
      case BinaryOp::Lt: return a < b;
      case BinaryOp::Le: return a <= b;
      case BinaryOp::Gt: return a > b;
      default: return a >= b;
    }
  };
  for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 1000}) {
    std::vector<T> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) a[size_t(i)] = pool[pick(gen)], b[size_t(i)] = pool[pick(gen)];
    std::vector<uint8_t> out(static_cast<size_t>(n) + 1);
    for (BinaryOp op : ops)
      for (int steps = 0; steps < 4; ++steps) {
        const int64_t a_step = steps & 1, b_step = steps >> 1;
        out[size_t(n)] = 0xee;  // a guard byte: nothing is written past n
        bool* o = reinterpret_cast<bool*>(out.data());
        if constexpr (std::is_same_v<T, float>) k.compare_f32(op, a.data(), a_step, b.data(), b_step, o, n);
        else if constexpr (std::is_same_v<T, double>) k.compare_f64(op, a.data(), a_step, b.data(), b_step, o, n);
        else if constexpr (std::is_same_v<T, int32_t>) k.compare_i32(op, a.data(), a_step, b.data(), b_step, o, n);
        else k.compare_i64(op, a.data(), a_step, b.data(), b_step, o, n);
        ASSERT_EQ(out[size_t(n)], 0xee) << "n " << n;
        for (int64_t i = 0; i < n; ++i) {
          const T x = a[size_t(a_step * i)], y = b[size_t(b_step * i)];
          ASSERT_EQ(out[size_t(i)], uint8_t(want(op, x, y)))
              << dtype_name(dt) << " op " << int(op) << " n " << n << " i " << i << " steps " << steps << " " << x << " " << y;
        }
      }
    // Through the kernel: a (n,) array against an array and against a broadcast 0-d scalar.
    Tensor ta = Tensor::empty({n}, dt), tb = Tensor::empty({n}, dt), out_t = Tensor::empty({n}, DType::Bool);
    std::copy(a.begin(), a.end(), ta.data<T>());
    std::copy(b.begin(), b.end(), tb.data<T>());
    for (BinaryOp op : ops) {
      cpu::binary(op, ta, tb, out_t);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out_t.data<bool>()[i], want(op, a[size_t(i)], b[size_t(i)]));
      cpu::binary(op, ta, tb.as_strided({n}, {0}, 3 % n), out_t);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out_t.data<bool>()[i], want(op, a[size_t(i)], b[size_t(3 % n)]));
    }
    cpu::unary(UnaryOp::LogicalNot, ta, out_t);  // x == 0: false for NaN, true for -0
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out_t.data<bool>()[i], a[size_t(i)] == T(0)) << dtype_name(dt) << " " << i;
  }
}

TEST_P(CpuKernels, SimdComparisonsWriteBoolBytesWithNaNSemantics) {
  check_comparisons_against_scalar_loop<float>(DType::Float32);
  check_comparisons_against_scalar_loop<double>(DType::Float64);
  check_comparisons_against_scalar_loop<int32_t>(DType::Int32);
  check_comparisons_against_scalar_loop<int64_t>(DType::Int64);
}

// Logical ops on bool bytes: arrays, a broadcast scalar on either side, and LogicalNot.
TEST_P(CpuKernels, SimdLogicalOpsOnBools) {
  for (int64_t n : {1, 15, 16, 17, 31, 32, 33, 64, 65, 1000}) {
    Tensor a = Tensor::empty({n}, DType::Bool), b = Tensor::empty({n}, DType::Bool), out = Tensor::empty({n}, DType::Bool);
    for (int64_t i = 0; i < n; ++i) a.data<bool>()[i] = (i * 5) % 3 == 0, b.data<bool>()[i] = (i * 7) % 4 < 2;
    for (BinaryOp op : {BinaryOp::LogicalAnd, BinaryOp::LogicalOr}) {
      auto ref = [&](bool x, bool y) { return op == BinaryOp::LogicalAnd ? (x && y) : (x || y); };
      cpu::binary(op, a, b, out);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out.data<bool>()[i], ref(a.data<bool>()[i], b.data<bool>()[i]));
      for (int64_t at : {int64_t(0), n - 1}) {  // a true and (for n > 1) a false scalar
        cpu::binary(op, a, b.as_strided({n}, {0}, at), out);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out.data<bool>()[i], ref(a.data<bool>()[i], b.data<bool>()[at]));
        cpu::binary(op, b.as_strided({n}, {0}, at), a, out);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out.data<bool>()[i], ref(b.data<bool>()[at], a.data<bool>()[i]));
      }
    }
    cpu::unary(UnaryOp::LogicalNot, a, out);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out.data<bool>()[i], !a.data<bool>()[i]);
  }
}

// ------------------------------------------------------------------ where, clamp, copy, fill

TEST_P(CpuKernels, WhereSelectsOnEveryLayout) {
  for (DType dt : kDTypes)
    for (Layout layout : kLayouts) {
      Tensor cond = make_input(Layout::Contiguous, 17, 33, DType::Float32, -1, 1, 5);
      Tensor mask = Tensor::empty({17, 33}, DType::Bool);
      for (int64_t k = 0; k < mask.numel(); ++k) set(mask, k, get(cond, k) > 0);
      Tensor a = make_input(layout, 17, 33, dt, -50, 50, 1), b = make_input(Layout::Contiguous, 17, 33, dt, -50, 50, 2);
      Tensor out = Tensor::empty({17, 33}, dt);
      cpu::where(mask, a, b, out);
      for (int64_t k = 0; k < out.numel(); ++k) ASSERT_EQ(get(out, k), get(mask, k) ? get(a, k) : get(b, k));
      Tensor zero = Tensor::empty({}, dt);  // where(mask, a, 0): a stride-0 scalar operand
      set(zero, 0, 0);
      cpu::where(mask, a, zero.as_strided({17, 33}, {0, 0}, 0), out);
      for (int64_t k = 0; k < out.numel(); ++k) ASSERT_EQ(get(out, k), get(mask, k) ? get(a, k) : 0.0);
    }
}

TEST_P(CpuKernels, ClampPropagatesNaNAndHandlesInfiniteBounds) {
  for (DType dt : kDTypes)
    for (Layout layout : kLayouts) {
      Tensor in = make_input(layout, 13, 70, dt, -10, 10, 9);
      if (is_floating(dt)) set(in, 3, kNaN);
      Tensor out = Tensor::empty({13, 70}, dt);
      cpu::clamp(in, Scalar::from_float(-2.5), Scalar::from_float(kInf), out);
      for (int64_t k = 0; k < out.numel(); ++k) {
        double x = get(in, k), lo = is_floating(dt) ? -2.5 : -2;
        ASSERT_TRUE(close(get(out, k), x < lo ? lo : x, 0, 0)) << dtype_name(dt) << " x=" << x;
      }
      cpu::clamp(in, Scalar::from_float(-kInf), Scalar::from_int(3), out);
      for (int64_t k = 0; k < out.numel(); ++k) ASSERT_TRUE(close(get(out, k), get(in, k) > 3 ? 3 : get(in, k), 0, 0));
    }
}

TEST_P(CpuKernels, CopyConvertsBetweenDTypesOnEveryLayout) {
  const DType all[] = {DType::Bool, DType::UInt8, DType::Int8, DType::Int32, DType::Int64,
                       DType::Float16, DType::BFloat16, DType::Float32, DType::Float64};
  for (DType from : all)
    for (DType to : all)
      for (Layout layout : kLayouts) {
        Tensor src = make_input(layout, 7, 45, from, from == DType::Bool ? 0 : -100, from == DType::Bool ? 2 : 100, 4);
        Tensor dst = Tensor::empty({7, 45}, to);
        cpu::copy(src, dst);
        for (int64_t k = 0; k < dst.numel(); ++k) {
          double x = get(src, k);
          double want = to == DType::Bool ? double(x != 0) : is_floating(to) ? round_to(to, x) : round_to(to, std::trunc(x));
          if (to == DType::UInt8 || to == DType::Int8) want = round_to(to, double(int64_t(std::trunc(x))));
          if (to == DType::UInt8 && x < 0) want = double(uint8_t(int64_t(std::trunc(x))));
          ASSERT_EQ(get(dst, k), want) << dtype_name(from) << " -> " << dtype_name(to) << " x=" << x;
        }
      }
}

TEST_P(CpuKernels, FillStridedAndZeroDim) {
  Tensor base = Tensor::empty({6, 8}, DType::Float16);
  cpu::fill(base, Scalar::from_float(0));
  cpu::fill(base.as_strided({3, 4}, {16, 2}, 1), Scalar::from_float(1.5));  // every other row and column
  for (int64_t k = 0; k < 48; ++k) {
    int64_t r = k / 8, c = k % 8;
    EXPECT_EQ(get(base, k), (r % 2 == 0 && c % 2 == 1) ? 1.5 : 0.0) << k;
  }
  Tensor scalar = Tensor::empty({}, DType::Int64);
  cpu::fill(scalar, Scalar::from_int(int64_t(1) << 60));
  EXPECT_EQ(scalar.data<int64_t>()[0], int64_t(1) << 60);
  cpu::fill(Tensor::empty({0, 5}, DType::Float32), Scalar::from_float(1));  // nothing to do
}

// ------------------------------------------------------------------ reduce

double reduce_ref(ReduceOp op, const std::vector<double>& xs, int64_t ddof) {
  const double n = double(xs.size());
  double acc = 0;
  switch (op) {
    case ReduceOp::Sum: for (double x : xs) acc += x; return acc;
    case ReduceOp::Mean: for (double x : xs) acc += x; return acc / n;
    case ReduceOp::Prod: acc = 1; for (double x : xs) acc *= x; return acc;
    case ReduceOp::Max: case ReduceOp::Min: case ReduceOp::ArgMax: case ReduceOp::ArgMin: {
      bool larger = op == ReduceOp::Max || op == ReduceOp::ArgMax;
      size_t best = 0;
      for (size_t i = 1; i < xs.size(); ++i) {
        if (std::isnan(xs[best])) break;
        if (std::isnan(xs[i]) || (larger ? xs[i] > xs[best] : xs[i] < xs[best])) best = i;
      }
      return (op == ReduceOp::Max || op == ReduceOp::Min) ? xs[best] : double(best);
    }
    case ReduceOp::Var: {
      double mean = 0;
      for (double x : xs) mean += x;
      mean /= n;
      for (double x : xs) acc += (x - mean) * (x - mean);
      return acc / std::max(n - double(ddof), 0.0);
    }
    case ReduceOp::Any: for (double x : xs) if (x != 0) return 1; return 0;
    case ReduceOp::All: break;
  }
  for (double x : xs) if (x == 0) return 0;
  return 1;
}

DType reduce_out_dtype(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Prod: return sum_result_type(in);
    case ReduceOp::Mean: case ReduceOp::Var: return is_floating(in) ? in : DType::Float32;
    case ReduceOp::Max: case ReduceOp::Min: return in;
    case ReduceOp::ArgMax: case ReduceOp::ArgMin: return DType::Int64;
    default: return DType::Bool;
  }
}

TEST_P(CpuKernels, ReduceMatchesReferenceForEveryShape) {
  const ReduceOp ops[] = {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod,
                          ReduceOp::ArgMax, ReduceOp::ArgMin, ReduceOp::Var, ReduceOp::Any, ReduceOp::All};
  const Shape shapes[] = {{3, 1000, 1}, {2, 37, 5}, {4, 3, 300}, {1, 150000, 1}, {2, 1, 1}};
  for (DType dt : kDTypes)
    for (const Shape& s : shapes)
      for (ReduceOp op : ops) {
        if (op == ReduceOp::Prod && s[1] > 40) continue;  // overflows
        Tensor in = filled(s, dt, op == ReduceOp::Prod ? 0.5 : -4, op == ReduceOp::Prod ? 1.5 : 4, 21);
        if (op == ReduceOp::Any || op == ReduceOp::All)
          for (int64_t k = 0; k < in.numel(); k += 3) set(in, k, 0);
        Tensor out = Tensor::empty({s[0], s[2]}, reduce_out_dtype(op, dt));
        cpu::reduce(op, in, out, 1);
        for (int64_t o = 0; o < s[0]; ++o)
          for (int64_t i = 0; i < s[2]; ++i) {
            std::vector<double> xs;
            for (int64_t r = 0; r < s[1]; ++r) xs.push_back(get(in, (o * s[1] + r) * s[2] + i));
            double want = round_to(out.dtype(), reduce_ref(op, xs, 1));
            double tol = dt == DType::Float16 ? 4e-3 : dt == DType::Float32 ? 1e-5 : 1e-9;
            if (op == ReduceOp::Mean || op == ReduceOp::Var || op == ReduceOp::Sum) tol *= 10;  // cancellation near 0
            ASSERT_TRUE(close(get(out, o * s[2] + i), want, tol, tol))
                << "op " << int(op) << " " << dtype_name(dt) << " shape " << s[0] << "," << s[1] << "," << s[2]
                << " at " << o << "," << i << " got " << get(out, o * s[2] + i) << " want " << want;
          }
      }
}

TEST_P(CpuKernels, ReduceNaNAndTies) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (int64_t n : {int64_t(9), int64_t(5000), int64_t(200000)}) {
      Tensor in = Tensor::empty({1, n, 1}, dt);
      for (int64_t k = 0; k < n; ++k) set(in, k, double(k % 7));
      Tensor arg = Tensor::empty({1, 1}, DType::Int64), val = Tensor::empty({1, 1}, dt);
      cpu::reduce(ReduceOp::ArgMax, in, arg, 0);
      EXPECT_EQ(arg.data<int64_t>()[0], 6);  // first of the ties
      cpu::reduce(ReduceOp::ArgMin, in, arg, 0);
      EXPECT_EQ(arg.data<int64_t>()[0], 0);
      set(in, n - 2, kNaN);
      set(in, n - 1, kNaN);
      for (ReduceOp op : {ReduceOp::ArgMax, ReduceOp::ArgMin}) {
        cpu::reduce(op, in, arg, 0);
        EXPECT_EQ(arg.data<int64_t>()[0], n - 2);  // the first NaN wins
      }
      for (ReduceOp op : {ReduceOp::Max, ReduceOp::Min, ReduceOp::Sum}) {
        cpu::reduce(op, in, val, 0);
        EXPECT_TRUE(std::isnan(get(val, 0)));
      }
      set(in, n - 2, kInf);
      set(in, n - 1, -kInf);
      cpu::reduce(ReduceOp::Max, in, val, 0);
      EXPECT_EQ(get(val, 0), kInf);
      cpu::reduce(ReduceOp::ArgMin, in, arg, 0);
      EXPECT_EQ(arg.data<int64_t>()[0], n - 1);
    }
}

TEST_P(CpuKernels, ReduceEmptyRows) {
  Tensor in = Tensor::empty({2, 0, 3}, DType::Float32);
  Tensor out = Tensor::empty({2, 3}, DType::Float32);
  cpu::reduce(ReduceOp::Sum, in, out, 0);
  for (int64_t k = 0; k < 6; ++k) EXPECT_EQ(out.data<float>()[k], 0.0f);
  cpu::reduce(ReduceOp::Mean, in, out, 0);
  for (int64_t k = 0; k < 6; ++k) EXPECT_TRUE(std::isnan(out.data<float>()[k]));
  Tensor any = Tensor::empty({2, 3}, DType::Bool);
  cpu::reduce(ReduceOp::All, in, any, 0);
  for (int64_t k = 0; k < 6; ++k) EXPECT_TRUE(any.data<bool>()[k]);
}

// A float32 sum over millions of elements stays within ~1e-6 of the exact sum, and the
// answer does not depend on the number of threads.
TEST_P(CpuKernels, LongFloat32SumIsAccurateAndThreadIndependent) {
  const int64_t n = 6'000'000;
  Tensor in = Tensor::empty({1, n, 1}, DType::Float32);
  double exact = 0;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
  for (int64_t k = 0; k < n; ++k) {
    in.data<float>()[k] = dist(gen);
    exact += in.data<float>()[k];
  }
  Tensor out = Tensor::empty({1, 1}, DType::Float32);
  std::vector<float> by_threads;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    cpu::reduce(ReduceOp::Sum, in, out, 0);
    by_threads.push_back(out.data<float>()[0]);
  }
  set_num_threads(0);
  EXPECT_NEAR(by_threads[0], exact, 1e-6 * exact);
  EXPECT_EQ(by_threads[0], by_threads[1]);
  EXPECT_EQ(by_threads[0], by_threads[2]);
  Tensor var = Tensor::empty({1, 1}, DType::Float32);
  cpu::reduce(ReduceOp::Var, in, var, 0);
  EXPECT_NEAR(var.data<float>()[0], 1.0 / 12, 1e-3);
}

// The SIMD arg max / arg min and max / min on lengths around the vector steps: first occurrence
// of ties, -inf / inf, and a NaN at any position (the first NaN wins; max / min are NaN).
template <typename T>
void check_extremes_against_scalar_loop() {
  const simd::KernelTable& k = simd::kernels();
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> small(-3, 3);  // many ties
  for (int64_t n : {int64_t(1), int64_t(2), int64_t(7), int64_t(8), int64_t(15), int64_t(16), int64_t(31), int64_t(32), int64_t(33), int64_t(63), int64_t(64), int64_t(65), int64_t(100), int64_t(127), int64_t(128), int64_t(129), int64_t(1000), int64_t(1024), int64_t(4097), int64_t(20000)}) {
    std::vector<T> x(static_cast<size_t>(n), T(0));
    for (int trial = 0; trial < 9; ++trial) {
      for (T& v : x) v = T(small(gen));
      if (trial == 6)  // zeros of both signs only: the first of either is the first occurrence
        for (T& v : x) v = gen() % 2 ? T(-0.0) : T(0.0);
      if (trial == 7)  // only +-inf: every element ties with the max or the min
        for (T& v : x) v = T(small(gen)) == 0 ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
      if (trial == 8) {  // the max last (in the scalar tail when n is not a multiple of the step)
        for (size_t i = 0; i < x.size(); ++i) x[i] = T(int(i % 5));
        x[size_t(n - 1)] = T(9);
      }
      if (trial == 1) x[size_t(n - 1)] = std::numeric_limits<T>::infinity();
      if (trial == 2) x[size_t(n / 2)] = -std::numeric_limits<T>::infinity();
      if (trial >= 3 && trial <= 5) x[size_t(int64_t(gen()) % n)] = std::numeric_limits<T>::quiet_NaN();
      if (trial == 5) x[size_t(int64_t(gen()) % n)] = std::numeric_limits<T>::quiet_NaN();
      std::vector<double> xs(x.begin(), x.end());
      auto want_max = int64_t(reduce_ref(ReduceOp::ArgMax, xs, 0));
      auto want_min = int64_t(reduce_ref(ReduceOp::ArgMin, xs, 0));
      bool nan = trial >= 3 && trial <= 5;
      if constexpr (std::is_same_v<T, float>) {
        ASSERT_EQ(k.argmax_f32(x.data(), n), want_max) << "n " << n << " trial " << trial;
        ASSERT_EQ(k.argmin_f32(x.data(), n), want_min) << "n " << n << " trial " << trial;
        ASSERT_EQ(std::isnan(k.max_f32(x.data(), n)), nan) << "n " << n;
        if (!nan) {
          ASSERT_EQ(k.min_f32(x.data(), n), x[size_t(want_min)]) << "n " << n;
        }
      } else {
        ASSERT_EQ(k.argmax_f64(x.data(), n), want_max) << "n " << n << " trial " << trial;
        ASSERT_EQ(k.argmin_f64(x.data(), n), want_min) << "n " << n << " trial " << trial;
        ASSERT_EQ(std::isnan(k.min_f64(x.data(), n)), nan) << "n " << n;
        if (!nan) {
          ASSERT_EQ(k.max_f64(x.data(), n), x[size_t(want_max)]) << "n " << n;
        }
      }
    }
  }
}

TEST_P(CpuKernels, SimdArgExtremeFirstOccurrenceAndNaN) {
  check_extremes_against_scalar_loop<float>();
  check_extremes_against_scalar_loop<double>();
}

// The contiguous where loop for every element size, on lengths with vector tails; a bool byte
// other than 0 / 1 never occurs, but 0 / 1 from a comparison does.
TEST_P(CpuKernels, SimdWhereBitsEveryElementSize) {
  for (DType dt : {DType::Bool, DType::Float16, DType::Float32, DType::Int64})
    for (int64_t n : {int64_t(1), int64_t(31), int64_t(64), int64_t(1000)}) {
      Tensor cond = Tensor::empty({n}, DType::Bool), out = Tensor::empty({n}, dt);
      Tensor a = filled({n}, dt, -9, 9, 3), b = filled({n}, dt, -9, 9, 4);
      for (int64_t k = 0; k < n; ++k) cond.data<bool>()[k] = (k * 7) % 3 == 0;
      cpu::where(cond, a, b, out);
      for (int64_t k = 0; k < n; ++k) ASSERT_EQ(get(out, k), get((k * 7) % 3 == 0 ? a : b, k)) << dtype_name(dt) << " " << k;
    }
}

// Column sums split over row chunks and column blocks (tall and wide matrices) match the
// reference and do not depend on the thread count; a size-1 axis reduces elementwise.
TEST_P(CpuKernels, ColumnSumsOverRowChunksAreThreadIndependent) {
  for (DType dt : {DType::Float32, DType::Float64})
    for (Shape s : {Shape{1, 3000, 300}, Shape{2, 700, 2500}, Shape{3, 1, 1}, Shape{1000, 1, 1}}) {
      Tensor in = filled(s, dt, -4, 4, 8);
      std::vector<double> first;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::ArgMin, ReduceOp::Var}) {
          Tensor out = Tensor::empty({s[0], s[2]}, reduce_out_dtype(op, dt));
          cpu::reduce(op, in, out, 0);
          size_t checked = 0;
          for (int64_t o = 0; o < s[0]; ++o)
            for (int64_t i = 0; i < s[2]; i += 7) {
              std::vector<double> xs;
              for (int64_t r = 0; r < s[1]; ++r) xs.push_back(get(in, (o * s[1] + r) * s[2] + i));
              double want = round_to(out.dtype(), reduce_ref(op, xs, 0)), got = get(out, o * s[2] + i);
              ASSERT_TRUE(close(got, want, 1e-5, 1e-4)) << "op " << int(op) << " shape " << s[0] << "," << s[1] << ","
                                                         << s[2] << " got " << got << " want " << want;
              if (op == ReduceOp::Sum) {
                if (threads == 1) first.push_back(got);
                else ASSERT_EQ(got, first[checked++]) << "threads " << threads;
              }
            }
        }
      }
      set_num_threads(0);
    }
}

// ------------------------------------------------------------------ matmul

TEST_P(CpuKernels, MatmulMatchesTripleLoop) {
  const int64_t B = 3, M = 17, K = 23, N = 11;
  for (DType dt : kDTypes)
    for (bool a_t : {false, true})
      for (bool b_t : {false, true})
        for (bool a_bcast : {false, true}) {
          Tensor a = a_t ? filled({B, K, M}, dt, -3, 3, 1).as_strided({B, M, K}, {K * M, 1, M}, 0)
                         : filled({B, M, K}, dt, -3, 3, 1);
          if (a_bcast) a = a.as_strided({B, M, K}, {0, a.strides()[1], a.strides()[2]}, a.offset());
          Tensor b = b_t ? filled({B, N, K}, dt, -3, 3, 2).as_strided({B, K, N}, {K * N, 1, K}, 0)
                         : filled({B, K, N}, dt, -3, 3, 2);
          Tensor out = Tensor::empty({B, M, N}, dt);
          cpu::matmul(a, b, out);
          for (int64_t i = 0; i < B; ++i)
            for (int64_t m = 0; m < M; ++m)
              for (int64_t n = 0; n < N; ++n) {
                double want = 0;
                for (int64_t k = 0; k < K; ++k) want += get(a, (i * M + m) * K + k) * get(b, (i * K + k) * N + n);
                double tol = dt == DType::Float16 ? 3e-2 : dt == DType::Float32 ? 1e-4 : 1e-10;
                ASSERT_NEAR(get(out, (i * M + m) * N + n), want, tol)
                    << dtype_name(dt) << " a_t " << a_t << " b_t " << b_t << " a_bcast " << a_bcast;
              }
        }
}

TEST_P(CpuKernels, MatmulVectorShapesAndEmptyInner) {
  // (1, K) @ (K, 1) with strides a BLAS would reject if passed through unchanged.
  Tensor a = filled({1, 1, 5}, DType::Float32, -1, 1, 3).as_strided({1, 1, 5}, {5, 7, 1}, 0);
  Tensor b = filled({1, 5, 1}, DType::Float32, -1, 1, 4).as_strided({1, 5, 1}, {5, 1, 3}, 0);
  Tensor out = Tensor::empty({1, 1, 1}, DType::Float32);
  cpu::matmul(a, b, out);
  double want = 0;
  for (int64_t k = 0; k < 5; ++k) want += get(a, k) * get(b, k);
  EXPECT_NEAR(out.data<float>()[0], want, 1e-6);
  Tensor e = Tensor::empty({2, 3, 0}, DType::Float64), f = Tensor::empty({2, 0, 4}, DType::Float64);
  Tensor z = Tensor::empty({2, 3, 4}, DType::Float64);
  cpu::matmul(e, f, z);
  for (int64_t k = 0; k < z.numel(); ++k) EXPECT_EQ(z.data<double>()[k], 0.0);
}

// ------------------------------------------------------------------ gather, scatter

TEST_P(CpuKernels, GatherAndScatterThroughStridedViews) {
  for (DType dt : kDTypes) {
    Tensor src = filled({5, 6}, dt, -9, 9, 8);
    Tensor column = src.as_strided({5}, {6}, 0);  // the view each index selects: one column
    Tensor offsets = Tensor::empty({4}, DType::Int64);
    const int64_t cols[] = {4, 0, 4, 5};
    std::copy(cols, cols + 4, offsets.data<int64_t>());
    Tensor out = Tensor::empty({4, 5}, dt);
    cpu::gather(column, offsets, out);
    for (int64_t g = 0; g < 4; ++g)
      for (int64_t r = 0; r < 5; ++r) ASSERT_EQ(get(out, g * 5 + r), get(src, r * 6 + cols[g]));
    // scatter back: duplicates (column 4 twice), later wins; values broadcast along r.
    Tensor values = filled({4, 1}, dt, -9, 9, 9).as_strided({4, 5}, {1, 0}, 0);
    cpu::scatter(column, offsets, values, false);
    for (int64_t r = 0; r < 5; ++r) {
      EXPECT_EQ(get(src, r * 6 + 4), get(values, 2 * 5 + r));
      EXPECT_EQ(get(src, r * 6 + 0), get(values, 1 * 5 + r));
      EXPECT_EQ(get(src, r * 6 + 5), get(values, 3 * 5 + r));
    }
  }
  // A large contiguous-row gather / scatter (the memcpy path, threaded over groups).
  Tensor table = filled({4000, 64}, DType::Float32, -1, 1, 10);
  Tensor row = table.as_strided({64}, {1}, 0);
  Tensor offsets = Tensor::empty({3000}, DType::Int64);
  for (int64_t g = 0; g < 3000; ++g) offsets.data<int64_t>()[g] = ((g * 7) % 4000) * 64;
  Tensor out = Tensor::empty({3000, 64}, DType::Float32);
  cpu::gather(row, offsets, out);
  for (int64_t g = 0; g < 3000; g += 97)
    for (int64_t c = 0; c < 64; ++c) ASSERT_EQ(out.data<float>()[g * 64 + c], table.data<float>()[((g * 7) % 4000) * 64 + c]);
  cpu::fill(out, Scalar::from_float(2));
  cpu::scatter(row, offsets, out, false);
  for (int64_t g = 0; g < 3000; g += 97) ASSERT_EQ(table.data<float>()[((g * 7) % 4000) * 64 + 5], 2.0f);
}

// ------------------------------------------------------------------ random

TEST_P(CpuKernels, RandomIsThreadIndependentAndWellDistributed) {
  const int64_t n = 1 << 20;
  Tensor one = Tensor::empty({n}, DType::Float32), two = Tensor::empty({n}, DType::Float32);
  set_num_threads(1);
  cpu::random(RandomKind::Uniform, one, 0, 1, 42, 1000);
  set_num_threads(2);
  cpu::random(RandomKind::Uniform, two, 0, 1, 42, 1000);
  set_num_threads(0);
  ASSERT_EQ(std::memcmp(one.data_ptr(), two.data_ptr(), one.nbytes()), 0);
  EXPECT_EQ(double(one.data<float>()[7]), double(float(philox_uniform(42, 1007))));
  double mean = 0, sq = 0;
  for (int64_t k = 0; k < n; ++k) {
    float v = one.data<float>()[k];
    ASSERT_TRUE(v >= 0.0f && v < 1.0f);
    mean += v;
    sq += double(v) * v;
  }
  mean /= double(n);
  EXPECT_NEAR(mean, 0.5, 2e-3);
  EXPECT_NEAR(sq / double(n) - mean * mean, 1.0 / 12, 2e-3);

  Tensor normal = Tensor::empty({n}, DType::Float64);
  cpu::random(RandomKind::Normal, normal, 3, 2, 7, 0);
  mean = sq = 0;
  for (int64_t k = 0; k < n; ++k) mean += normal.data<double>()[k];
  mean /= double(n);
  for (int64_t k = 0; k < n; ++k) sq += (normal.data<double>()[k] - mean) * (normal.data<double>()[k] - mean);
  EXPECT_NEAR(mean, 3, 1e-2);
  EXPECT_NEAR(std::sqrt(sq / double(n)), 2, 1e-2);

  Tensor ints = Tensor::empty({10000}, DType::Int8), bits = Tensor::empty({10000}, DType::Bool);
  cpu::random(RandomKind::Integer, ints, -3, 4, 1, 0);
  cpu::random(RandomKind::Integer, bits, 0, 2, 1, 0);
  int seen_true = 0;
  for (int64_t k = 0; k < 10000; ++k) {
    ASSERT_TRUE(ints.data<int8_t>()[k] >= -3 && ints.data<int8_t>()[k] < 4);
    seen_true += bits.data<bool>()[k];
  }
  EXPECT_NEAR(seen_true, 5000, 300);

  // Rounding a + (b - a) u to float16 must not reach b.
  Tensor half = Tensor::empty({1 << 16}, DType::Float16);
  cpu::random(RandomKind::Uniform, half, 0, 1, 5, 0);
  for (int64_t k = 0; k < half.numel(); ++k) ASSERT_LT(float(half.data<Half>()[k]), 1.0f);
}

INSTANTIATE_TEST_SUITE_P(SimdLevels, CpuKernels, ::testing::Values("baseline", "avx2", "avx512"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

}  // namespace

TEST(CpuScatter, AccumulateSumsDuplicatesForEveryAddableDtype) {
  for (DType dt : {DType::Float32, DType::Float64, DType::Float16, DType::Int32, DType::Int64}) {
    // dst: a (3,) column view of a zeroed (4, 3) matrix; rows 1 and 3 selected, row 1 three times.
    Tensor base = Tensor::empty({4, 3}, dt);
    cpu::fill(base, Scalar::from_int(0));
    Tensor dst = base.as_strided({3}, {1}, 0);
    Tensor offsets = Tensor::empty({4}, DType::Int64);
    int64_t* off = offsets.data<int64_t>();
    off[0] = 3; off[1] = 9; off[2] = 3; off[3] = 3;
    Tensor values = Tensor::empty({4, 3}, dt);
    cpu::fill(values, Scalar::from_int(2));
    cpu::scatter(dst, offsets, values, true);
    Tensor as64 = Tensor::empty({4, 3}, DType::Float64);
    cpu::copy(base, as64);
    const double* v = as64.data<double>();
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(v[0 * 3 + c], 0) << dtype_name(dt);
      EXPECT_EQ(v[1 * 3 + c], 6) << dtype_name(dt);  // three duplicates of 2
      EXPECT_EQ(v[3 * 3 + c], 2) << dtype_name(dt);
    }
  }
}
