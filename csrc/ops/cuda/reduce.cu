// Reductions over the middle axis: in (O, R, I) contiguous -> out (O, I) contiguous.
// I == 1 (reducing the innermost axis): a warp per row for short rows, a block per row for
// long ones, strided loads then warp shuffles. I > 1: a thread per output (o, i) looping over
// R, so neighbouring threads read neighbouring elements. Accumulation: float for float16 /
// bfloat16 / float32, double for float64, int64 for integers and bool. Var is two-pass
// (mean, then squared deviations) and, like the CPU reference, in double for every dtype:
// the second pass subtracts nearly equal numbers.
#include <limits>

#include "cuda/cuda_check.h"
#include "ops/cuda/elementwise.cuh"
#include "ops/scalar_ops.h"
#include "ops/kernels/reduce.h"

namespace aimass::gpu {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarpRowLimit = 2048;  // rows up to this length get a warp, longer ones a block

// The accumulator of sums and products.
template <typename T> struct SumAcc { using type = acc_t<T>; };
template <> struct SumAcc<bool> { using type = int64_t; };
template <> struct SumAcc<uint8_t> { using type = int64_t; };
template <> struct SumAcc<int8_t> { using type = int64_t; };
template <> struct SumAcc<int32_t> { using type = int64_t; };
template <typename T> using sum_acc_t = typename SumAcc<T>::type;
// Sum and Prod results: the input's dtype for floats, int64 otherwise (sum_result_type).
template <typename T> using sum_out_t = std::conditional_t<std::is_integral_v<T>, int64_t, T>;
// Mean and Var results: the input's dtype for floats, float32 otherwise.
template <typename T> using mean_out_t = std::conditional_t<std::is_integral_v<T>, float, T>;

// A policy says how to reduce: identity, load (element r of the row), combine, project (to
// the output, knowing R). combine must be associative and commutative up to rounding.
template <typename T>
struct SumPolicy {
  using Acc = sum_acc_t<T>;
  using Out = sum_out_t<T>;
  static __device__ Acc identity() { return Acc(0); }
  static __device__ Acc load(T x, int64_t) { return Acc(acc_t<T>(x)); }
  static __device__ Acc combine(Acc a, Acc b) { return wrap_add(a, b); }
  static __device__ Out project(Acc a, int64_t) { return convert<Out>(a); }
};

template <typename T>
struct MeanPolicy : SumPolicy<T> {
  using Acc = sum_acc_t<T>;
  using Out = mean_out_t<T>;
  static __device__ Out project(Acc a, int64_t R) {  // R == 0 gives 0 / 0 = NaN
    if constexpr (std::is_integral_v<T>) return Out(double(a) / double(R));
    else return convert<Out>(a / Acc(R));
  }
};

template <typename T>
struct ProdPolicy {
  using Acc = sum_acc_t<T>;
  using Out = sum_out_t<T>;
  static __device__ Acc identity() { return Acc(1); }
  static __device__ Acc load(T x, int64_t) { return Acc(acc_t<T>(x)); }
  static __device__ Acc combine(Acc a, Acc b) { return wrap_mul(a, b); }
  static __device__ Out project(Acc a, int64_t) { return convert<Out>(a); }
};

// Max / Min: NaN propagates (R > 0 is guaranteed, so the identity never reaches the output).
template <typename T, bool kMax>
struct ExtremePolicy {
  using Acc = acc_t<T>;
  using Out = T;
  static __device__ Acc identity() {
    if constexpr (kFloatArith<Acc>) return kMax ? -std::numeric_limits<Acc>::infinity() : std::numeric_limits<Acc>::infinity();
    else return kMax ? std::numeric_limits<Acc>::lowest() : std::numeric_limits<Acc>::max();
  }
  static __device__ Acc load(T x, int64_t) { return Acc(x); }
  static __device__ Acc combine(Acc a, Acc b) { return kMax ? nan_maximum(a, b) : nan_minimum(a, b); }
  static __device__ Out project(Acc a, int64_t) { return convert<Out>(a); }
};

// A value and its position along R; i < 0 marks "no element yet".
template <typename A>
struct ArgAcc {
  A v;
  int64_t i;
};

// ArgMax / ArgMin: NaN counts as both the maximum and the minimum; ties go to the lowest index.
template <typename T, bool kMax>
struct ArgPolicy {
  using Acc = ArgAcc<acc_t<T>>;
  using Out = int64_t;
  static __device__ Acc identity() { return Acc{acc_t<T>(0), -1}; }
  static __device__ Acc load(T x, int64_t r) { return Acc{acc_t<T>(x), r}; }
  static __device__ Acc combine(Acc a, Acc b) {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool a_nan = a.v != a.v, b_nan = b.v != b.v;
    if (a_nan || b_nan) return (a_nan && b_nan) ? (a.i < b.i ? a : b) : (a_nan ? a : b);
    if (kMax ? a.v > b.v : a.v < b.v) return a;
    if (kMax ? b.v > a.v : b.v < a.v) return b;
    return a.i < b.i ? a : b;
  }
  static __device__ Out project(Acc a, int64_t) { return a.i < 0 ? 0 : a.i; }  // R == 0: 0, as the CPU
};

template <typename T, bool kAny>
struct AnyAllPolicy {
  using Acc = int;
  using Out = bool;
  static __device__ Acc identity() { return kAny ? 0 : 1; }
  static __device__ Acc load(T x, int64_t) { return acc_t<T>(x) != acc_t<T>(0); }  // NaN counts as true
  static __device__ Acc combine(Acc a, Acc b) { return kAny ? (a | b) : (a & b); }
  static __device__ Out project(Acc a, int64_t) { return a != 0; }
};

// __shfl_down_sync has no overloads below 32 bits, nor for structs.
template <typename V>
__device__ V shfl_down(V v, int delta) {
  if constexpr (sizeof(V) < 4) return V(__shfl_down_sync(kFullMask, int(v), delta));
  else return __shfl_down_sync(kFullMask, v, delta);
}
template <typename A>
__device__ ArgAcc<A> shfl_down(ArgAcc<A> a, int delta) {
  return ArgAcc<A>{shfl_down(a.v, delta), shfl_down(a.i, delta)};
}

// All 32 lanes take part; lane 0 ends with the warp's result.
template <typename P>
__device__ typename P::Acc warp_reduce(typename P::Acc acc) {
#pragma unroll
  for (int delta = 16; delta > 0; delta >>= 1) acc = P::combine(acc, shfl_down(acc, delta));
  return acc;
}

// Combines acc across the kThreadsPerRow threads of one row (a warp, or the whole block). The
// result is valid in the row's first thread, or in every thread of it with kBroadcast.
template <typename P, int kThreadsPerRow, bool kBroadcast = false>
__device__ typename P::Acc row_reduce(typename P::Acc acc) {
  using Acc = typename P::Acc;
  acc = warp_reduce<P>(acc);
  if constexpr (kThreadsPerRow == 32) {
    if constexpr (kBroadcast) acc = __shfl_sync(kFullMask, acc, 0);
    return acc;
  } else {
    static_assert(kThreadsPerRow == kBlockSize);
    constexpr int kWarps = kBlockSize / 32;
    __shared__ Acc partial[kWarps];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = acc;
    __syncthreads();
    if (warp == 0) {
      acc = warp_reduce<P>(lane < kWarps ? partial[lane] : P::identity());
      if (kBroadcast && lane == 0) partial[0] = acc;
    }
    __syncthreads();
    if constexpr (kBroadcast) {
      acc = partial[0];
      __syncthreads();  // partial is rewritten by the next row
    }
    return acc;
  }
}

// I == 1: in is (O, R) row-major. kThreadsPerRow 32: each warp of the block owns a row;
// kBlockSize: the block owns a row (the row loop is then uniform across the block, as
// __syncthreads needs).
template <typename P, typename T, int kThreadsPerRow>
__global__ void reduce_rows_kernel(const T* in, typename P::Out* out, int64_t O, int64_t R) {
  constexpr int kRowsPerBlock = kBlockSize / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kThreadsPerRow; row < O;
       row += int64_t(gridDim.x) * kRowsPerBlock) {
    const T* p = in + row * R;
    typename P::Acc acc = P::identity();
    for (int64_t r = lane; r < R; r += kThreadsPerRow) acc = P::combine(acc, P::load(p[r], r));
    acc = row_reduce<P, kThreadsPerRow>(acc);
    if (lane == 0) out[row] = P::project(acc, R);
  }
}

// I > 1: one thread per output element (o, i), walking R with stride I.
template <typename P, typename T>
__global__ void reduce_columns_kernel(const T* in, typename P::Out* out, int64_t O, int64_t R, int64_t I) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < O * I; k += int64_t(gridDim.x) * blockDim.x) {
    const T* p = in + (k / I) * R * I + k % I;
    typename P::Acc acc = P::identity();
    for (int64_t r = 0; r < R; ++r) acc = P::combine(acc, P::load(p[r * I], r));
    out[k] = P::project(acc, R);
  }
}


template <typename V>
struct PlainSum {
  using Acc = V;
  static __device__ V identity() { return V(0); }
  static __device__ V combine(V a, V b) { return a + b; }
};

// sum of squared deviations / max(R - ddof, 0), as NumPy (0 / 0 = NaN when R <= ddof).
template <typename T>
__device__ mean_out_t<T> var_project(double m2, int64_t R, int64_t ddof) {
  return convert<mean_out_t<T>>(m2 / double(R > ddof ? R - ddof : 0));
}

template <typename T, int kThreadsPerRow>
__global__ void var_rows_kernel(const T* in, mean_out_t<T>* out, int64_t O, int64_t R, int64_t ddof) {
  using V = double;
  constexpr int kRowsPerBlock = kBlockSize / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kThreadsPerRow; row < O;
       row += int64_t(gridDim.x) * kRowsPerBlock) {
    const T* p = in + row * R;
    V sum = 0;
    for (int64_t r = lane; r < R; r += kThreadsPerRow) sum += V(acc_t<T>(p[r]));
    const V mean = row_reduce<PlainSum<V>, kThreadsPerRow, true>(sum) / V(R);
    V m2 = 0;
    for (int64_t r = lane; r < R; r += kThreadsPerRow) {
      V d = V(acc_t<T>(p[r])) - mean;
      m2 += d * d;
    }
    m2 = row_reduce<PlainSum<V>, kThreadsPerRow>(m2);
    if (lane == 0) out[row] = var_project<T>(m2, R, ddof);
  }
}

template <typename T>
__global__ void var_columns_kernel(const T* in, mean_out_t<T>* out, int64_t O, int64_t R, int64_t I, int64_t ddof) {
  using V = double;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < O * I; k += int64_t(gridDim.x) * blockDim.x) {
    const T* p = in + (k / I) * R * I + k % I;
    V sum = 0;
    for (int64_t r = 0; r < R; ++r) sum += V(acc_t<T>(p[r * I]));
    const V mean = sum / V(R);
    V m2 = 0;
    for (int64_t r = 0; r < R; ++r) {
      V d = V(acc_t<T>(p[r * I])) - mean;
      m2 += d * d;
    }
    out[k] = var_project<T>(m2, R, ddof);
  }
}

unsigned row_grid(int64_t O, int threads_per_row) {
  int64_t rows_per_block = kBlockSize / threads_per_row;
  return unsigned(std::clamp<int64_t>((O + rows_per_block - 1) / rows_per_block, 1, int64_t(1) << 16));
}

template <typename Out>
Out* output_data(const Tensor& out, const char* what) {
  AM_CHECK(out.dtype() == DTypeOf<Out>::value, RuntimeError, "cuda reduce: ", what, " of this input writes ",
           dtype_name(DTypeOf<Out>::value), " but the output is ", out.describe());
  return out.data<Out>();
}

template <typename P, typename T>
void run_reduce(const Tensor& in, const Tensor& out, int64_t O, int64_t R, int64_t I, const char* what) {
  const T* src = in.data<T>();
  auto* dst = output_data<typename P::Out>(out, what);
  if (I > 1) reduce_columns_kernel<P, T><<<grid_for(O * I), kBlockSize>>>(src, dst, O, R, I);
  else if (R <= kWarpRowLimit) reduce_rows_kernel<P, T, 32><<<row_grid(O, 32), kBlockSize>>>(src, dst, O, R);
  else reduce_rows_kernel<P, T, kBlockSize><<<row_grid(O, kBlockSize), kBlockSize>>>(src, dst, O, R);
}

template <typename T>
void run_var(const Tensor& in, const Tensor& out, int64_t O, int64_t R, int64_t I, int64_t ddof) {
  const T* src = in.data<T>();
  auto* dst = output_data<mean_out_t<T>>(out, "var");
  if (I > 1) var_columns_kernel<T><<<grid_for(O * I), kBlockSize>>>(src, dst, O, R, I, ddof);
  else if (R <= kWarpRowLimit) var_rows_kernel<T, 32><<<row_grid(O, 32), kBlockSize>>>(src, dst, O, R, ddof);
  else var_rows_kernel<T, kBlockSize><<<row_grid(O, kBlockSize), kBlockSize>>>(src, dst, O, R, ddof);
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(reduce)(ReduceOp op, const Tensor& in, const Tensor& out, int64_t ddof) {
  using namespace aimass::gpu;
  const int64_t O = in.shape()[0], R = in.shape()[1], I = in.shape()[2];
  if (O * I == 0) return;
  DeviceGuard guard(in.device().index, "reduce");
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    switch (op) {
      case ReduceOp::Sum: run_reduce<SumPolicy<T>, T>(in, out, O, R, I, "sum"); break;
      case ReduceOp::Mean: run_reduce<MeanPolicy<T>, T>(in, out, O, R, I, "mean"); break;
      case ReduceOp::Prod: run_reduce<ProdPolicy<T>, T>(in, out, O, R, I, "prod"); break;
      case ReduceOp::Max: run_reduce<ExtremePolicy<T, true>, T>(in, out, O, R, I, "max"); break;
      case ReduceOp::Min: run_reduce<ExtremePolicy<T, false>, T>(in, out, O, R, I, "min"); break;
      case ReduceOp::ArgMax: run_reduce<ArgPolicy<T, true>, T>(in, out, O, R, I, "argmax"); break;
      case ReduceOp::ArgMin: run_reduce<ArgPolicy<T, false>, T>(in, out, O, R, I, "argmin"); break;
      case ReduceOp::Any: run_reduce<AnyAllPolicy<T, true>, T>(in, out, O, R, I, "any"); break;
      case ReduceOp::All: run_reduce<AnyAllPolicy<T, false>, T>(in, out, O, R, I, "all"); break;
      case ReduceOp::Var: run_var<T>(in, out, O, R, I, ddof); break;
    }
  });
  check_launch("reduce");
}

}  // namespace aimass
