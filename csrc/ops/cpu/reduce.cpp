// Reduction over the middle axis: in is (O, R, I) contiguous, out is (O, I) contiguous.
//   I == 1: each output reduces one contiguous row of R elements. float32 / float64 rows use
//           the SIMD table; a row is always cut into fixed pieces of kPiece elements whose
//           partial results are folded in order, so long rows can be spread over threads and
//           the answer does not depend on the thread count.
//   I > 1:  each task reduces a block of up to kColumnBlock columns, walking the R rows and
//           accumulating across the columns; float sums and means go through sum_columns_simd,
//           which also splits the rows into fixed chunks (see there).
// Accumulators: integer sums and products in int64 (wrapping), 16-bit floats in float32,
// float32 sums pairwise in float32 (folded in double), means and variances of integers in
// double; variance is two-pass (mean, then the sum of squared deviations) in double.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/cpu/simd/simd.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

constexpr int64_t kPiece = int64_t(1) << 16;  // a multiple of the SIMD pairwise block
constexpr int64_t kColumnBlock = 256;

struct Dims {
  int64_t O, R, I;
};

// ---------------------------------------------------------------- rows (I == 1)

// out[o] = finish(fold over the pieces of row o of piece(ptr, n))
template <typename V, typename T, typename Piece, typename Fold, typename Finish>
void reduce_rows(const T* in, Dims d, Piece piece, Fold fold, Finish finish) {
  const int64_t pieces = std::max<int64_t>(1, (d.R + kPiece - 1) / kPiece);
  auto piece_of = [&](int64_t o, int64_t p) {
    int64_t begin = p * kPiece;
    return piece(in + o * d.R + begin, std::min(kPiece, d.R - begin));
  };
  if (pieces == 1 || d.O >= 2 * num_threads()) {
    parallel_for(0, d.O, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, d.R)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        V acc = piece_of(o, 0);
        for (int64_t p = 1; p < pieces; ++p) acc = fold(acc, piece_of(o, p));
        finish(o, acc);
      }
    });
    return;
  }
  std::vector<V> partial(size_t(d.O * pieces));
  parallel_for(0, d.O * pieces, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) partial[size_t(t)] = piece_of(t / pieces, t % pieces);
  });
  for (int64_t o = 0; o < d.O; ++o) {
    V acc = partial[size_t(o * pieces)];
    for (int64_t p = 1; p < pieces; ++p) acc = fold(acc, partial[size_t(o * pieces + p)]);
    finish(o, acc);
  }
}

// ---------------------------------------------------------------- columns (any I)

// For every output (o, i): acc = init, then acc = step(acc, in[o, r, i], r) for r in order;
// finish(o * I + i, acc). Parallel over (o, block of columns).
template <typename Acc, typename T, typename Step, typename Finish>
void reduce_columns(const T* in, Dims d, Acc init, Step step, Finish finish) {
  const int64_t cols = std::min(d.I, kColumnBlock), blocks = (d.I + kColumnBlock - 1) / kColumnBlock;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, d.R * cols));
  parallel_for(0, d.O * blocks, grain, [&](int64_t t0, int64_t t1) {
    std::array<Acc, kColumnBlock> acc;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock, m = std::min(kColumnBlock, d.I - i0);
      std::fill(acc.begin(), acc.begin() + m, init);
      for (int64_t r = 0; r < d.R; ++r) {
        const T* row = in + (o * d.R + r) * d.I + i0;
        for (int64_t i = 0; i < m; ++i) acc[size_t(i)] = step(acc[size_t(i)], row[i], r);
      }
      for (int64_t i = 0; i < m; ++i) finish(o * d.I + i0 + i, acc[size_t(i)]);
    }
  });
}

// Column sums of float32 / float64 (any I): the work is cut into fixed tasks of (o, a block of
// up to kSumColumns columns, a chunk of chunk_rows rows). A task adds its rows kRowBlock at a
// time into T parts with the SIMD add_rows (rows streamed whole, so memory is read in order),
// and the parts into a double partial (float32 parts stay short, and so does their rounding
// error). A column's partials are added in chunk order afterwards, so the answer does not
// depend on the thread count; splitting rows as well as columns keeps every thread busy when
// there are few column blocks (a tall matrix's column sums).
template <typename T, typename Finish>
void sum_columns_simd(const T* in, Dims d, Finish finish) {
  constexpr int64_t kRowBlock = 128, kSumColumns = 2048;
  const int64_t width = std::min(d.I, kSumColumns), col_blocks = (d.I + kSumColumns - 1) / kSumColumns;
  const int64_t chunk_rows = (std::max<int64_t>(1, kElementwiseGrain / width) + kRowBlock - 1) / kRowBlock * kRowBlock;
  const int64_t chunks = std::max<int64_t>(1, (d.R + chunk_rows - 1) / chunk_rows);
  // Sums rows [chunk * chunk_rows, ...) of the block's m columns from i0 into total[0..m).
  auto sum_chunk = [&](int64_t o, int64_t i0, int64_t m, int64_t chunk, double* total) {
    std::array<T, kSumColumns> part;
    std::fill(total, total + m, 0.0);
    const int64_t r_end = std::min(d.R, (chunk + 1) * chunk_rows);
    for (int64_t r = chunk * chunk_rows; r < r_end; r += kRowBlock) {
      std::fill(part.begin(), part.begin() + m, T(0));
      const T* block = in + (o * d.R + r) * d.I + i0;
      if constexpr (std::is_same_v<T, float>) simd::kernels().add_rows_f32(block, std::min(kRowBlock, r_end - r), m, d.I, part.data());
      else simd::kernels().add_rows_f64(block, std::min(kRowBlock, r_end - r), m, d.I, part.data());
      for (int64_t i = 0; i < m; ++i) total[i] += double(part[size_t(i)]);
    }
  };
  const int64_t tasks = d.O * col_blocks * chunks;
  auto block_of = [&](int64_t t, int64_t& o, int64_t& i0, int64_t& m) {
    o = t / col_blocks;
    i0 = (t % col_blocks) * kSumColumns;
    m = std::min(kSumColumns, d.I - i0);
  };
  if (chunks == 1) {
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, d.R * width));
    parallel_for(0, tasks, grain, [&](int64_t t0, int64_t t1) {
      std::array<double, kSumColumns> total;
      for (int64_t t = t0; t < t1; ++t) {
        int64_t o, i0, m;
        block_of(t, o, i0, m);
        sum_chunk(o, i0, m, 0, total.data());
        for (int64_t i = 0; i < m; ++i) finish(o * d.I + i0 + i, total[size_t(i)]);
      }
    });
    return;
  }
  // partial[(block * chunks + chunk) * width + i]
  std::vector<double> partial(size_t(tasks * width));
  parallel_for(0, tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t o, i0, m;
      block_of(t / chunks, o, i0, m);
      sum_chunk(o, i0, m, t % chunks, partial.data() + t * width);
    }
  });
  for (int64_t b = 0; b < d.O * col_blocks; ++b) {
    int64_t o, i0, m;
    block_of(b, o, i0, m);
    double* total = partial.data() + b * chunks * width;
    for (int64_t c = 1; c < chunks; ++c)
      for (int64_t i = 0; i < m; ++i) total[i] += total[c * width + i];
    for (int64_t i = 0; i < m; ++i) finish(o * d.I + i0 + i, total[i]);
  }
}

// ---------------------------------------------------------------- ops

template <typename T>
constexpr bool kSimdFloat = std::is_same_v<T, float> || std::is_same_v<T, double>;

// Pairwise sum of a contiguous float32 / float64 piece, as double.
template <typename T>
double simd_sum(const T* p, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return simd::kernels().sum_f32(p, n);
  else return simd::kernels().sum_f64(p, n);
}
template <bool Larger, typename T>
T simd_extreme(const T* p, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  if constexpr (std::is_same_v<T, float>) return Larger ? k.max_f32(p, n) : k.min_f32(p, n);
  else return Larger ? k.max_f64(p, n) : k.min_f64(p, n);
}

// The accumulator of a sum or product of T.
template <typename T>
using sum_acc_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, acc_t<T>, int64_t>;
// The element type of a sum / product result (sum_result_type), and of a mean / variance.
template <typename T>
using sum_out_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, T, int64_t>;
template <typename T>
using mean_out_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, T, float>;

template <typename T>
void sum_or_mean(const T* in, Dims d, void* out_ptr, bool mean) {
  if (mean) {
    auto* out = static_cast<mean_out_t<T>*>(out_ptr);
    const double r = double(d.R);
    if constexpr (kSimdFloat<T>) {
      auto finish = [&](int64_t k, double s) { out[k] = T(s / r); };
      if (d.I == 1) {
        reduce_rows<double>(in, d, simd_sum<T>,
                            [](double a, double b) { return a + b; }, finish);
      } else {
        sum_columns_simd(in, d, finish);
      }
    } else {
      using A = std::conditional_t<std::is_floating_point_v<acc_t<T>>, float, double>;
      reduce_columns(in, d, A(0), [](A acc, T x, int64_t) { return acc + A(acc_t<T>(x)); },
                     [&](int64_t k, A s) { out[k] = mean_out_t<T>(float(double(s) / r)); });
    }
    return;
  }
  auto* out = static_cast<sum_out_t<T>*>(out_ptr);
  if constexpr (kSimdFloat<T>) {
    auto finish = [&](int64_t k, double s) { out[k] = T(s); };
    if (d.I == 1) {
      reduce_rows<double>(in, d, simd_sum<T>,
                          [](double a, double b) { return a + b; }, finish);
    } else {
      sum_columns_simd(in, d, finish);
    }
  } else {
    using A = sum_acc_t<T>;
    reduce_columns(in, d, A(0), [](A acc, T x, int64_t) { return wrap_add(acc, A(acc_t<T>(x))); },
                   [&](int64_t k, A s) { out[k] = sum_out_t<T>(s); });
  }
}

template <typename T>
void product(const T* in, Dims d, void* out_ptr) {
  using A = sum_acc_t<T>;
  auto* out = static_cast<sum_out_t<T>*>(out_ptr);
  reduce_columns(in, d, A(1), [](A acc, T x, int64_t) { return wrap_mul(acc, A(acc_t<T>(x))); },
                 [&](int64_t k, A p) { out[k] = sum_out_t<T>(p); });
}

// Max (Larger) or min; NaN propagates.
template <bool Larger, typename T>
void extreme(const T* in, Dims d, T* out) {
  using A = std::conditional_t<std::is_same_v<T, bool>, bool, acc_t<T>>;
  if constexpr (kSimdFloat<T>) {
    if (d.I == 1) {
      auto fold = [](T a, T b) {
        if (a != a || b != b) return a != a ? a : b;
        return (Larger ? b > a : b < a) ? b : a;
      };
      reduce_rows<T>(in, d, simd_extreme<Larger, T>, fold, [&](int64_t k, T v) { out[k] = v; });
      return;
    }
  }
  const A init = std::is_floating_point_v<A> ? (Larger ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity())
                                             : (Larger ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max());
  reduce_columns(in, d, init, [](A acc, T v, int64_t) {
    A x = A(v);
    return (acc != acc || (Larger ? acc > x : acc < x)) ? acc : x;  // x wins ties; NaN sticks
  }, [&](int64_t k, A v) { out[k] = T(v); });
}

// Arg max / arg min: first occurrence; the first NaN beats everything.
template <typename A>
struct ArgAcc {
  A value;
  int64_t index;
};
template <bool Larger, typename A>
bool arg_better(A candidate, A best) {
  if (best != best) return false;
  return candidate != candidate || (Larger ? candidate > best : candidate < best);
}

template <bool Larger, typename T>
ArgAcc<T> arg_extreme_row(const T* x, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  int64_t i;
  if constexpr (std::is_same_v<T, float>) i = Larger ? k.argmax_f32(x, n) : k.argmin_f32(x, n);
  else i = Larger ? k.argmax_f64(x, n) : k.argmin_f64(x, n);
  return {x[i], i};
}

template <bool Larger, typename T>
void arg_extreme(const T* in, Dims d, int64_t* out) {
  if (d.R == 0) {
    std::fill(out, out + d.O * d.I, int64_t(0));
    return;
  }
  if constexpr (kSimdFloat<T>) {
    if (d.I == 1) {
      // A piece's index is relative to the piece; (p - in) % R is where the piece starts.
      reduce_rows<ArgAcc<T>>(in, d, [&](const T* p, int64_t n) {
                               ArgAcc<T> a = arg_extreme_row<Larger>(p, n);
                               a.index += (p - in) % d.R;
                               return a;
                             },
                             [&](ArgAcc<T> a, ArgAcc<T> b) { return arg_better<Larger>(b.value, a.value) ? b : a; },
                             [&](int64_t k, ArgAcc<T> a) { out[k] = a.index; });
      return;
    }
  }
  using A = std::conditional_t<std::is_same_v<T, bool>, bool, acc_t<T>>;
  reduce_columns(in, d, ArgAcc<A>{A(0), -1}, [](ArgAcc<A> acc, T v, int64_t r) {
    A x = A(v);
    return (acc.index < 0 || arg_better<Larger>(x, acc.value)) ? ArgAcc<A>{x, r} : acc;
  }, [&](int64_t k, ArgAcc<A> a) { out[k] = a.index; });
}

template <typename T>
void variance(const T* in, Dims d, int64_t ddof, void* out_ptr) {
  auto* out = static_cast<mean_out_t<T>*>(out_ptr);
  const double divisor = double(std::max<int64_t>(d.R - ddof, 0));
  auto store = [&](int64_t k, double ssd) { out[k] = mean_out_t<T>(float(ssd / divisor)); };
  auto store_exact = [&](int64_t k, double ssd) { out[k] = mean_out_t<T>(ssd / divisor); };
  if constexpr (kSimdFloat<T>) {
    if (d.I == 1 && d.R > 0) {
      std::vector<double> mean(size_t(d.O));
      reduce_rows<double>(in, d, [](const T* p, int64_t n) {
        if constexpr (std::is_same_v<T, float>) return simd::kernels().sum_f32_as_f64(p, n);
        else return simd::kernels().sum_f64(p, n);
      }, [](double a, double b) { return a + b; }, [&](int64_t o, double s) { mean[size_t(o)] = s / double(d.R); });
      // Each row's deviations from its own mean: the piece lambda finds the row from the pointer.
      reduce_rows<double>(in, d, [&](const T* p, int64_t n) {
        double m = mean[size_t((p - in) / d.R)];
        if constexpr (std::is_same_v<T, float>) return simd::kernels().sum_sq_dev_f32(p, n, m);
        else return simd::kernels().sum_sq_dev_f64(p, n, m);
      }, [](double a, double b) { return a + b; }, store_exact);
      return;
    }
  }
  std::vector<double> mean(size_t(d.O * d.I));
  reduce_columns(in, d, 0.0, [](double acc, T x, int64_t) { return acc + double(acc_t<T>(x)); },
                 [&](int64_t k, double s) { mean[size_t(k)] = s / double(d.R); });
  // Second pass: the column path hands step no output index, so walk the rows here.
  const int64_t cols = std::min(d.I, kColumnBlock), blocks = (d.I + kColumnBlock - 1) / kColumnBlock;
  parallel_for(0, d.O * blocks, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, d.R * cols)), [&](int64_t t0, int64_t t1) {
    std::array<double, kColumnBlock> ssd;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock, m = std::min(kColumnBlock, d.I - i0);
      const double* mu = mean.data() + o * d.I + i0;
      std::fill(ssd.begin(), ssd.begin() + m, 0.0);
      for (int64_t r = 0; r < d.R; ++r) {
        const T* row = in + (o * d.R + r) * d.I + i0;
        for (int64_t i = 0; i < m; ++i) {
          double dev = double(acc_t<T>(row[i])) - mu[i];
          ssd[size_t(i)] += dev * dev;
        }
      }
      for (int64_t i = 0; i < m; ++i) {
        if constexpr (std::is_same_v<T, double>) store_exact(o * d.I + i0 + i, ssd[size_t(i)]);
        else store(o * d.I + i0 + i, ssd[size_t(i)]);
      }
    }
  });
}

template <bool IsAny, typename T>
void any_all(const T* in, Dims d, bool* out) {
  reduce_columns(in, d, !IsAny, [](bool acc, T x, int64_t) {
    bool nonzero = acc_t<T>(x) != acc_t<T>(0);
    return IsAny ? (acc || nonzero) : (acc && nonzero);
  }, [&](int64_t k, bool v) { out[k] = v; });
}

DType expected_out_dtype(ReduceOp op, DType in) {
  switch (op) {
    case ReduceOp::Sum: case ReduceOp::Prod: return sum_result_type(in);
    case ReduceOp::Mean: case ReduceOp::Var: return is_floating(in) ? in : DType::Float32;
    case ReduceOp::Max: case ReduceOp::Min: return in;
    case ReduceOp::ArgMax: case ReduceOp::ArgMin: return DType::Int64;
    case ReduceOp::Any: case ReduceOp::All: break;
  }
  return DType::Bool;
}

}  // namespace

void reduce(ReduceOp op, const Tensor& in, const Tensor& out, int64_t ddof) {
  AM_CHECK(in.dim() == 3 && in.is_contiguous() && out.is_contiguous() && out.numel() == in.size(0) * in.size(2),
           RuntimeError, "reduce (cpu kernel): expected a contiguous (O, R, I) input and (O, I) output, got ",
           in.describe(), " and ", out.describe());
  AM_CHECK(out.dtype() == expected_out_dtype(op, in.dtype()), RuntimeError, "reduce (cpu kernel): output ",
           out.describe(), " has the wrong dtype for input ", in.describe());
  Dims d{in.size(0), in.size(1), in.size(2)};
  if (out.numel() == 0) return;
  // Reducing a size-1 axis (R == 1) is elementwise: (O, 1, 1) has the layout of (1, 1, O), which
  // the column path does in one sweep rather than O calls of a row kernel.
  if (d.R == 1 && d.I == 1) d = {1, 1, d.O};
  visit_dtype(in.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = in.data<T>();
    if (d.R == 0 && (op == ReduceOp::Max || op == ReduceOp::Min)) return;  // excluded by the op layer
    switch (op) {
      case ReduceOp::Sum: sum_or_mean(x, d, out.data_ptr(), false); break;
      case ReduceOp::Mean: sum_or_mean(x, d, out.data_ptr(), true); break;
      case ReduceOp::Prod: product(x, d, out.data_ptr()); break;
      case ReduceOp::Max: extreme<true>(x, d, out.data<T>()); break;
      case ReduceOp::Min: extreme<false>(x, d, out.data<T>()); break;
      case ReduceOp::ArgMax: arg_extreme<true>(x, d, out.data<int64_t>()); break;
      case ReduceOp::ArgMin: arg_extreme<false>(x, d, out.data<int64_t>()); break;
      case ReduceOp::Var: variance(x, d, ddof, out.data_ptr()); break;
      case ReduceOp::Any: any_all<true>(x, d, out.data<bool>()); break;
      case ReduceOp::All: any_all<false>(x, d, out.data<bool>()); break;
    }
  });
}

}  // namespace aimass::cpu
