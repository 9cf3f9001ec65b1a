// Every CUDA kernel (libaimass_cuda.so, reached through the dispatch table) against its CPU
// reference (aimass::cpu::*) on random inputs: contiguous, transposed and broadcast (stride-0)
// operands, several dtypes. Plus the caching allocator and host <-> device round trips.
// With no GPU every case skips itself.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/device_api.h"
#include "ops/convert.h"
#include "ops/kernels.h"

using namespace aimass;

#define SKIP_WITHOUT_CUDA() \
  if (!aimass::cuda_is_available()) GTEST_SKIP() << aimass::cuda_unavailable_reason()

namespace {

const Device kCuda(DeviceType::CUDA, 0);
const Device kCpu;

int64_t element_offset(const Tensor& t, int64_t k) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (k % t.shape()[d]) * t.strides()[d];
    k /= t.shape()[d];
  }
  return off;
}
// Element k (row-major over the logical shape) of a CPU tensor, as double.
double get(const Tensor& t, int64_t k) {
  return visit_dtype(t.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return double(acc_t<T>(t.data<T>()[element_offset(t, k)]));
  });
}

// A contiguous CPU tensor of uniform values in [lo, hi) (truncated for integers).
Tensor random_cpu(const Shape& shape, DType dt, double lo, double hi, unsigned seed) {
  Tensor f = Tensor::empty(shape, DType::Float64);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t k = 0; k < f.numel(); ++k) f.data<double>()[k] = is_floating(dt) ? dist(gen) : std::trunc(dist(gen));
  Tensor t = Tensor::empty(shape, dt);
  cpu::copy(f, t);
  return t;
}

// The same operand on both devices: equal data, equal strides.
struct Pair {
  Tensor cpu, cuda;
};
Pair view_of(const Tensor& base, const Shape& shape, const Shape& strides) {
  Tensor on_gpu = to_device(base, kCuda);
  return {base.as_strided(shape, strides, 0), on_gpu.as_strided(shape, strides, 0)};
}
enum class Layout { Contiguous, Transposed, Broadcast };
const Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Broadcast};
// An (r, c) operand: contiguous, a transposed (c, r) tensor, or one row broadcast over r.
Pair make_input(Layout layout, int64_t r, int64_t c, DType dt, double lo, double hi, unsigned seed) {
  switch (layout) {
    case Layout::Contiguous: return view_of(random_cpu({r, c}, dt, lo, hi, seed), {r, c}, {c, 1});
    case Layout::Transposed: return view_of(random_cpu({c, r}, dt, lo, hi, seed), {r, c}, {1, r});
    case Layout::Broadcast: break;
  }
  return view_of(random_cpu({1, c}, dt, lo, hi, seed), {r, c}, {0, 1});
}
Pair empty_pair(const Shape& shape, DType dt) { return {Tensor::empty(shape, dt), Tensor::empty(shape, dt, kCuda)}; }

double rtol_for(DType dt) {
  switch (dt) {
    case DType::Float16: return 2e-3;
    case DType::BFloat16: return 1.6e-2;
    case DType::Float32: return 2e-5;
    case DType::Float64: return 1e-12;
    default: return 0;
  }
}

// want (CPU) and got (CUDA, copied back) agree elementwise; NaN matches NaN.
void expect_close(const Tensor& want, const Tensor& got_cuda, double rtol, double atol, const std::string& what) {
  Tensor got = to_device(got_cuda, kCpu);
  ASSERT_EQ(want.shape(), got.shape()) << what;
  ASSERT_EQ(want.dtype(), got.dtype()) << what;
  int failures = 0;
  for (int64_t k = 0; k < want.numel() && failures < 5; ++k) {
    double w = get(want, k), g = get(got, k);
    bool ok = std::isnan(w) ? std::isnan(g) : std::isinf(w) ? g == w : std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok) {
      ++failures;
      ADD_FAILURE() << what << ": element " << k << " is " << g << " on cuda, " << w << " on cpu";
    }
  }
}
void expect_close(const Tensor& want, const Tensor& got_cuda, const std::string& what) {
  double rtol = rtol_for(want.dtype());
  expect_close(want, got_cuda, rtol, rtol * 1e-2, what);
}

const DType kFloatTypes[] = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16};
const DType kIntTypes[] = {DType::Int32, DType::Int64, DType::Int8, DType::UInt8};

}  // namespace

// ------------------------------------------------------------------ allocator and transfers

TEST(CudaAllocator, ReusesFreedBlocksAndCountsBytes) {
  SKIP_WITHOUT_CUDA();
  DeviceApi& api = cuda_api();
  api.empty_cache();
  const size_t before = api.memory_allocated(0);
  void* first;
  {
    Tensor t = Tensor::empty({1000}, DType::Float32, kCuda);  // 4000 bytes -> one 4096-byte block
    first = t.data_ptr();
    EXPECT_EQ(api.memory_allocated(0), before + 4096);
    EXPECT_GE(api.memory_reserved(0), api.memory_allocated(0));
  }
  EXPECT_EQ(api.memory_allocated(0), before);
  EXPECT_GE(api.memory_reserved(0), before + 4096);  // the block stays cached
  Tensor again = Tensor::empty({1024}, DType::Float32, kCuda);
  EXPECT_EQ(again.data_ptr(), first);
  Tensor big = Tensor::empty({3 << 20}, DType::Float32, kCuda);  // 12 MiB: a 2 MiB multiple
  EXPECT_EQ(api.memory_allocated(0), before + 4096 + (size_t(12) << 20));
  EXPECT_NE(big.data_ptr(), first);
}

TEST(CudaAllocator, EmptyCacheReleasesOnlyCachedBlocks) {
  SKIP_WITHOUT_CUDA();
  DeviceApi& api = cuda_api();
  Tensor live = Tensor::empty({4096}, DType::Float64, kCuda);
  { Tensor dead = Tensor::empty({1 << 20}, DType::Float32, kCuda); }
  api.empty_cache();
  EXPECT_EQ(api.memory_reserved(0), api.memory_allocated(0));
  EXPECT_GE(api.memory_allocated(0), size_t(4096 * 8));
}

TEST(CudaAllocator, AHugeRequestFailsWithAClearError) {
  SKIP_WITHOUT_CUDA();
  try {
    Tensor t = Tensor::empty({int64_t(1) << 50}, DType::Float32, kCuda);
    FAIL() << "a 4 PiB allocation succeeded";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory"), std::string::npos) << e.what();
  }
  Tensor after = Tensor::empty({16}, DType::Float32, kCuda);  // the device still works
  fill_(after, Scalar::from_float(1.5));
  EXPECT_EQ(item(after.as_strided({}, {}, 3)).f, 1.5);
}

TEST(CudaCopy, RoundTripsEveryDtype) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::Bool, DType::UInt8, DType::Int8, DType::Int32, DType::Int64, DType::Float16,
                   DType::BFloat16, DType::Float32, DType::Float64}) {
    Tensor host = random_cpu({37, 11}, dt, -100, 100, 1);
    Tensor device = to_device(host, kCuda);
    Tensor device2 = to_device(device, kCuda, /*copy=*/true);  // device to device
    expect_close(host, device2, 0, 0, std::string("round trip ") + dtype_name(dt));
  }
}

// ------------------------------------------------------------------ elementwise

TEST(CudaKernels, UnaryMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  const UnaryOp float_ops[] = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Exp, UnaryOp::Log, UnaryOp::Sqrt,
                               UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Square,
                               UnaryOp::Reciprocal, UnaryOp::Rsqrt, UnaryOp::Sin, UnaryOp::Cos, UnaryOp::Floor,
                               UnaryOp::Ceil, UnaryOp::Round, UnaryOp::LogicalNot};
  const UnaryOp int_ops[] = {UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Relu, UnaryOp::Sign, UnaryOp::Square,
                             UnaryOp::LogicalNot};
  auto check = [&](UnaryOp op, DType dt, Layout layout) {
    Pair in = make_input(layout, 45, 33, dt, -4, 4, 7);  // log / sqrt of negatives: NaN on both
    DType out_dt = op == UnaryOp::LogicalNot ? DType::Bool : dt;
    Pair out = empty_pair({45, 33}, out_dt);
    cpu::unary(op, in.cpu, out.cpu);
    unary_kernel.on(kCuda)(op, in.cuda, out.cuda);
    expect_close(out.cpu, out.cuda, std::string("unary ") + std::to_string(int(op)) + " " + dtype_name(dt) +
                                        " layout " + std::to_string(int(layout)));
  };
  for (Layout layout : kLayouts) {
    for (DType dt : kFloatTypes)
      for (UnaryOp op : float_ops) check(op, dt, layout);
    for (DType dt : kIntTypes)
      for (UnaryOp op : int_ops) check(op, dt, layout);
  }
}

TEST(CudaKernels, BinaryMatchesCpuWithBroadcastAndTransposedOperands) {
  SKIP_WITHOUT_CUDA();
  const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow,
                          BinaryOp::Maximum, BinaryOp::Minimum, BinaryOp::Remainder, BinaryOp::Eq, BinaryOp::Ne,
                          BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge, BinaryOp::LogicalAnd,
                          BinaryOp::LogicalOr};
  std::vector<DType> dtypes(std::begin(kFloatTypes), std::end(kFloatTypes));
  dtypes.insert(dtypes.end(), std::begin(kIntTypes), std::end(kIntTypes));
  for (DType dt : dtypes) {
    for (BinaryOp op : ops) {
      bool small = op == BinaryOp::Pow;  // keep powers finite
      for (Layout la : kLayouts) {
        Layout lb = la == Layout::Transposed ? Layout::Broadcast : Layout::Transposed;
        Pair a = make_input(la, 29, 40, dt, small ? 0 : -50, small ? 3 : 50, 3);
        Pair b = make_input(lb, 29, 40, dt, small ? 0 : -9, small ? 3 : 9, 4);
        Pair out = empty_pair({29, 40}, is_comparison(op) ? DType::Bool : dt);
        cpu::binary(op, a.cpu, b.cpu, out.cpu);
        binary_kernel.on(kCuda)(op, a.cuda, b.cuda, out.cuda);
        double rtol = rtol_for(dt) * (op == BinaryOp::Pow ? 4 : 1);
        expect_close(out.cpu, out.cuda, rtol, rtol * 1e-2,
                     std::string("binary ") + std::to_string(int(op)) + " " + dtype_name(dt));
      }
    }
  }
}

TEST(CudaKernels, WhereAndClampMatchCpu) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::Float32, DType::Float16, DType::Int64, DType::Int8}) {
    Pair cond = make_input(Layout::Transposed, 31, 17, DType::Bool, -1, 2, 5);
    Pair a = make_input(Layout::Contiguous, 31, 17, dt, -100, 100, 6);
    Pair b = make_input(Layout::Broadcast, 31, 17, dt, -100, 100, 7);
    Pair out = empty_pair({31, 17}, dt);
    cpu::where(cond.cpu, a.cpu, b.cpu, out.cpu);
    where_kernel.on(kCuda)(cond.cuda, a.cuda, b.cuda, out.cuda);
    expect_close(out.cpu, out.cuda, 0, 0, std::string("where ") + dtype_name(dt));

    Pair clamped = empty_pair({31, 17}, dt);
    Scalar lo = Scalar::from_int(-20), hi = is_floating(dt) ? Scalar::from_float(35.5) : Scalar::from_int(35);
    cpu::clamp(a.cpu, lo, hi, clamped.cpu);
    clamp_kernel.on(kCuda)(a.cuda, lo, hi, clamped.cuda);
    expect_close(clamped.cpu, clamped.cuda, 0, 0, std::string("clamp ") + dtype_name(dt));
  }
}

TEST(CudaKernels, CopyConvertsBetweenDtypesThroughStridedViews) {
  SKIP_WITHOUT_CUDA();
  const DType all[] = {DType::Bool, DType::UInt8, DType::Int8, DType::Int32, DType::Int64,
                       DType::Float16, DType::BFloat16, DType::Float32, DType::Float64};
  for (DType from : all) {
    for (DType to : all) {
      for (Layout layout : kLayouts) {
        Pair src = make_input(layout, 23, 19, from, -300, 300, 9);
        Pair dst = view_of(Tensor::empty({19, 23}, to), {23, 19}, {1, 23});  // a transposed destination
        cpu::copy(src.cpu, dst.cpu);
        copy_kernel.on(kCuda)(src.cuda, dst.cuda);
        expect_close(dst.cpu, dst.cuda, 0, 0, std::string("copy ") + dtype_name(from) + " -> " + dtype_name(to));
      }
    }
  }
}

TEST(CudaKernels, FillMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::Bool, DType::Int8, DType::Int64, DType::Float16, DType::BFloat16, DType::Float64}) {
    for (Scalar v : {Scalar::from_float(-2.75), Scalar::from_int(1000), Scalar::from_bool(true)}) {
      Pair out = view_of(Tensor::empty({10, 12}, dt), {12, 5}, {1, 24});  // every other column
      cpu::fill(out.cpu, v);
      fill_kernel.on(kCuda)(out.cuda, v);
      expect_close(out.cpu, out.cuda, 0, 0, std::string("fill ") + dtype_name(dt));
    }
  }
}

// ------------------------------------------------------------------ reductions

TEST(CudaKernels, ReduceMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  const ReduceOp ops[] = {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod,
                          ReduceOp::ArgMax, ReduceOp::ArgMin, ReduceOp::Var, ReduceOp::Any, ReduceOp::All};
  // (O, R, I): warp per row, block per row, columns, and tiny shapes.
  const Shape shapes[] = {{33, 100, 1}, {3, 5000, 1}, {4, 300, 7}, {1, 1, 1}, {5, 2, 3}};
  for (DType dt : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int8,
                   DType::Bool}) {
    for (const Shape& s : shapes) {
      for (ReduceOp op : ops) {
        bool prod = op == ReduceOp::Prod;
        Tensor host = random_cpu(s, dt, prod ? 0.9 : -10, prod ? 1.1 : 10, 11);
        if (prod && !is_floating(dt)) host = random_cpu(s, dt, -2, 3, 11);
        Pair in = view_of(host, s, host.strides());
        DType out_dt = op == ReduceOp::ArgMax || op == ReduceOp::ArgMin ? DType::Int64
                       : op == ReduceOp::Any || op == ReduceOp::All     ? DType::Bool
                       : op == ReduceOp::Max || op == ReduceOp::Min     ? dt
                       : op == ReduceOp::Mean || op == ReduceOp::Var    ? (is_floating(dt) ? dt : DType::Float32)
                                                                        : sum_result_type(dt);
        if (dt == DType::Bool && (op == ReduceOp::Mean || op == ReduceOp::Var)) continue;
        Pair out = empty_pair({s[0], s[2]}, out_dt);
        cpu::reduce(op, in.cpu, out.cpu, 1);
        reduce_kernel.on(kCuda)(op, in.cuda, out.cuda, 1);
        // Both sum float32 exactly enough; the CPU in double, the GPU in float.
        double rtol = is_floating(out_dt) ? std::max(rtol_for(out_dt), 2e-4) : 0;
        expect_close(out.cpu, out.cuda, rtol, rtol,
                     std::string("reduce ") + std::to_string(int(op)) + " " + dtype_name(dt) + " R=" +
                         std::to_string(s[1]) + " I=" + std::to_string(s[2]));
      }
    }
  }
}

TEST(CudaKernels, ArgMaxTakesTheFirstNaNAndTheFirstTie) {
  SKIP_WITHOUT_CUDA();
  Tensor host = Tensor::empty({2, 600, 1}, DType::Float32);
  for (int64_t k = 0; k < 1200; ++k) host.data<float>()[k] = float(k % 7);
  host.data<float>()[900] = std::numeric_limits<float>::quiet_NaN();
  host.data<float>()[1000] = std::numeric_limits<float>::quiet_NaN();
  Pair in = view_of(host, {2, 600, 1}, {600, 1, 1});
  for (ReduceOp op : {ReduceOp::ArgMax, ReduceOp::ArgMin, ReduceOp::Max, ReduceOp::Min}) {
    Pair out = empty_pair({2, 1}, op == ReduceOp::ArgMax || op == ReduceOp::ArgMin ? DType::Int64 : DType::Float32);
    cpu::reduce(op, in.cpu, out.cpu, 0);
    reduce_kernel.on(kCuda)(op, in.cuda, out.cuda, 0);
    expect_close(out.cpu, out.cuda, 0, 0, "reduce with NaN " + std::to_string(int(op)));
  }
}

// ------------------------------------------------------------------ matmul

TEST(CudaKernels, MatmulMatchesCpuForEveryOperandLayout) {
  SKIP_WITHOUT_CUDA();
  const int64_t B = 3, M = 37, K = 70, N = 21;
  for (DType dt : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64,
                   DType::Int8}) {
    for (bool a_cols : {false, true}) {
      for (bool b_cols : {false, true}) {
        for (bool b_shared : {false, true}) {
          // a: (B, M, K) row-major, or each matrix column-major (a transposed (B, K, M) tensor).
          Pair a = a_cols ? view_of(random_cpu({B, K, M}, dt, -3, 3, 1), {B, M, K}, {K * M, 1, M})
                          : view_of(random_cpu({B, M, K}, dt, -3, 3, 1), {B, M, K}, {M * K, K, 1});
          // b: (B, K, N), possibly one matrix shared by every batch (batch stride 0).
          int64_t b_stride = b_shared ? 0 : K * N;
          Pair b = b_cols ? view_of(random_cpu({B, N, K}, dt, -3, 3, 2), {B, K, N}, {b_stride, 1, K})
                          : view_of(random_cpu({B, K, N}, dt, -3, 3, 2), {B, K, N}, {b_stride, N, 1});
          Pair out = empty_pair({B, M, N}, dt);
          cpu::matmul(a.cpu, b.cpu, out.cpu);
          matmul_kernel.on(kCuda)(a.cuda, b.cuda, out.cuda);
          // Sums of 70 products of size <= 9: absolute error scales with K.
          double rtol = rtol_for(dt) * 4;
          expect_close(out.cpu, out.cuda, rtol, rtol * 30,
                       std::string("matmul ") + dtype_name(dt) + (a_cols ? " a^T" : "") + (b_cols ? " b^T" : "") +
                           (b_shared ? " b shared" : ""));
        }
      }
    }
  }
}

// ------------------------------------------------------------------ gather / scatter

Pair offsets_pair(const std::vector<int64_t>& values) {
  Tensor t = Tensor::empty({int64_t(values.size())}, DType::Int64);
  for (size_t g = 0; g < values.size(); ++g) t.data<int64_t>()[g] = int64_t(values[g]);
  return view_of(t, t.shape(), t.strides());
}

TEST(CudaKernels, GatherMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::Int8, DType::Float16, DType::Float32, DType::Float64}) {
    // src: rows of a (10, 6) tensor seen through a column-strided (4,) view; offsets pick rows.
    Pair src = view_of(random_cpu({10, 6}, dt, -50, 50, 3), {4}, {1});
    Pair src_cols = view_of(random_cpu({10, 6}, dt, -50, 50, 3), {3}, {2});
    Pair offsets = offsets_pair({54, 0, 12, 12, 30});
    for (Pair* s : {&src, &src_cols}) {
      Pair out = empty_pair({5, s->cpu.shape()[0]}, dt);
      cpu::gather(s->cpu, offsets.cpu, out.cpu);
      gather_kernel.on(kCuda)(s->cuda, offsets.cuda, out.cuda);
      expect_close(out.cpu, out.cuda, 0, 0, std::string("gather ") + dtype_name(dt));
    }
  }
}

TEST(CudaKernels, ScatterLetsLaterDuplicatesWin) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::UInt8, DType::BFloat16, DType::Int32, DType::Float64}) {
    Tensor base = random_cpu({8, 5}, dt, -50, 50, 4);
    // dst: (3,) views into rows of base, every other column; offsets repeat row 2 and row 6.
    Pair dst = view_of(base, {3}, {2});
    Pair offsets = offsets_pair({10, 30, 10, 0, 30, 10});
    for (bool broadcast : {false, true}) {
      Pair values = broadcast ? view_of(random_cpu({1, 3}, dt, -50, 50, 5), {6, 3}, {0, 1})
                              : view_of(random_cpu({3, 6}, dt, -50, 50, 5), {6, 3}, {1, 6});
      cpu::scatter(dst.cpu, offsets.cpu, values.cpu, false);
      scatter_kernel.on(kCuda)(dst.cuda, offsets.cuda, values.cuda, false);
      Pair whole{dst.cpu.as_strided({8, 5}, {5, 1}, 0), dst.cuda.as_strided({8, 5}, {5, 1}, 0)};
      expect_close(whole.cpu, whole.cuda, 0, 0, std::string("scatter ") + dtype_name(dt));
    }
  }
}

TEST(CudaKernels, ScatterAccumulateSumsDuplicates) {
  SKIP_WITHOUT_CUDA();
  for (DType dt : {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16, DType::Int32, DType::Int64}) {
    Tensor base = random_cpu({8, 5}, dt, -4, 4, 6);
    Pair dst = view_of(base, {3}, {2});
    Pair offsets = offsets_pair({10, 30, 10, 0, 30, 10});
    Pair values = view_of(random_cpu({6, 3}, dt, -4, 4, 7), {6, 3}, {3, 1});
    cpu::scatter(dst.cpu, offsets.cpu, values.cpu, true);
    scatter_kernel.on(kCuda)(dst.cuda, offsets.cuda, values.cuda, true);
    Pair whole{dst.cpu.as_strided({8, 5}, {5, 1}, 0), dst.cuda.as_strided({8, 5}, {5, 1}, 0)};
    double tol = dt == DType::Float16 || dt == DType::BFloat16 ? 5e-2 : 1e-6;  // atomics add in any order
    expect_close(whole.cpu, whole.cuda, tol, tol, std::string("scatter accumulate ") + dtype_name(dt));
  }
}

// ------------------------------------------------------------------ random

TEST(CudaKernels, RandomDrawsTheSameNumbersAsCpu) {
  SKIP_WITHOUT_CUDA();
  struct Case {
    RandomKind kind;
    double a, b;
    DType dt;
  };
  const Case cases[] = {{RandomKind::Uniform, -2, 3, DType::Float32}, {RandomKind::Uniform, 0, 1, DType::Float64},
                        {RandomKind::Uniform, 0, 1, DType::Float16}, {RandomKind::Uniform, -1, 1, DType::BFloat16},
                        {RandomKind::Normal, 1, 2, DType::Float32},  {RandomKind::Normal, 0, 1, DType::Float64},
                        {RandomKind::Integer, -5, 17, DType::Int64}, {RandomKind::Integer, 0, 255, DType::UInt8}};
  for (const Case& c : cases) {
    Pair out = empty_pair({1001}, c.dt);
    cpu::random(c.kind, out.cpu, c.a, c.b, 1234, 99);
    random_kernel.on(kCuda)(c.kind, out.cuda, c.a, c.b, 1234, 99);
    // Box-Muller's log / cos may differ in the last bits between the libraries.
    double rtol = c.kind == RandomKind::Normal ? 1e-6 : 0;
    expect_close(out.cpu, out.cuda, rtol, rtol, std::string("random ") + dtype_name(c.dt));
  }
}
