// The fully connected layer's GEMMs through the BLAS, PyTorch's weight layout (out, in):
//   forward   out (M, N) = act(x (M, K) @ w^T + bias): batches of 1 to 4 as dot products, larger
//             ones as a GEMM on weights packed once when they do not change (weight_pack_cache.h);
//             the bias is copied into every row of out
//             first and the GEMM accumulates onto it (beta = 1), so bias costs no extra pass
//             over the result; the ReLU is then one SIMD pass per row block while it is in cache.
//   backward  grad_x = g @ w, grad_w = g^T @ x (the transposes are BLAS flags, no copies),
//             grad_bias = the column sums of g.
// float32 and float64; the op layer widens 16-bit floats. The GEMMs are split over our pool,
// single-threaded in the BLAS (blas_gemm.h says why).
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/blas_gemm.h"
#include "ops/cpu/knn_dot.h"
#include "ops/cpu/row_ops.h"
#include "ops/cpu/weight_pack_cache.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/linear.h"

namespace aimass::cpu {

namespace {

// y (N,) = the column sums of a row-major (M, N) a; threads split the columns.
template <typename T>
void column_sums(const T* a, int64_t M, int64_t N, T* y) {
  parallel_for(0, N, std::max<int64_t>(16, kElementwiseGrain / std::max<int64_t>(M, 1)), [&](int64_t n0, int64_t n1) {
    std::fill(y + n0, y + n1, T(0));
    for (int64_t m = 0; m < M; ++m) {
      const T* r = a + m * N;
#pragma omp simd
      for (int64_t n = n0; n < n1; ++n) y[n] += r[n];
    }
  });
}

template <typename T>
int64_t row_grain(int64_t N) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(N, 1));
}

// A few rows of float32 x (inference at batch 1 to 4): dot products of each row with blocks of
// weight rows (knn_dot_rows, SIMD per ISA), the block small enough to stay in L2 while every row of
// x passes over it, so the weights cross the memory bus once. A GEMM would first pack the whole
// weight matrix (measured: 4096x4096 at batch 1, 19.5 ms through the GEMM against 3.5 ms in
// PyTorch's GEMV; the weights' 64 MB read once is the floor).
constexpr int64_t kGemvRows = 4;

void linear_forward_few_rows(const float* x, const float* w, const float* bias, LinearActivation act, float* out,
                             int64_t M, int64_t N, int64_t K) {
  const int64_t block = std::max<int64_t>(8, (int64_t(256) << 10) / std::max<int64_t>(K * 4, 1));
  parallel_for(0, (N + block - 1) / block, std::max<int64_t>(1, (int64_t(1) << 16) / std::max<int64_t>(block * K, 1)),
               [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t n0 = b * block, rows = std::min(block, N - n0);
      for (int64_t m = 0; m < M; ++m) {
        float* o = out + m * N + n0;
        knn_dot_rows(x + m * K, w + n0 * K, rows, K, o);
        for (int64_t j = 0; j < rows; ++j) {
          float v = o[j] + (bias ? bias[n0 + j] : 0.0f);
          o[j] = act == LinearActivation::Relu ? std::max(v, 0.0f) : v;
        }
      }
    }
  });
}

// x: (M, K), w: (N, K), bias: (N,) or null -> out: (M, N) = act(x @ w^T + bias)
// packed: w already packed for the GEMM (weight_pack_cache.h), or null.
template <typename T>
void linear_forward(const T* x, const T* w, const T* bias, LinearActivation act, T* out, int64_t M, int64_t N,
                    int64_t K, const SgemmPackedB* packed = nullptr) {
  if constexpr (std::is_same_v<T, float>) {
    if (M <= kGemvRows && K > 0 && M > 0) return linear_forward_few_rows(x, w, bias, act, out, M, N, K);
  }
  if (bias) {
    parallel_for(0, M, row_grain<T>(N), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::memcpy(out + r * N, bias, size_t(N) * sizeof(T));
    });
  }
  bool done = false;
  if constexpr (std::is_same_v<T, float>) {
    if (packed && K > 0) done = sgemm_avx512_packed(M, x, K, *packed, bias ? 1.0f : 0.0f, out, N);
  }
  if (done) {
  } else if (K > 0) {
    parallel_gemm<T>(false, true, M, N, K, x, K, w, K, bias ? T(1) : T(0), out, N);
  } else if (!bias) {
    std::memset(out, 0, size_t(M * N) * sizeof(T));
  }
  if (act == LinearActivation::Relu) {
    parallel_for(0, M, row_grain<T>(N), [&](int64_t r0, int64_t r1) {
      RowOps<T>::unary(UnaryOp::Relu, out + r0 * N, out + r0 * N, (r1 - r0) * N);
    });
  }
}

// g: (M, N) -> gx: (M, K), gw: (N, K), gb: (N,); each may be null.
template <typename T>
void linear_backward_impl(const T* g, const T* x, const T* w, T* gx, T* gw, T* gb, int64_t M, int64_t N,
                          int64_t K) {
  if (gx) {
    if (N > 0) parallel_gemm<T>(false, false, M, K, N, g, N, w, K, T(0), gx, K);
    else std::memset(gx, 0, size_t(M * K) * sizeof(T));
  }
  if (gw) {
    if (M > 0) parallel_gemm<T>(true, false, N, K, M, g, N, x, K, T(0), gw, K);
    else std::memset(gw, 0, size_t(N * K) * sizeof(T));
  }
  if (gb) {
    if (M > 0) column_sums(g, M, N, gb);
    else std::memset(gb, 0, size_t(N) * sizeof(T));
  }
}

template <typename T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <typename T>
void backward_typed(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                    LinearActivation act, const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) {
  const int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
  const T* g = grad_out.data<T>();
  std::vector<T> masked;
  if (act == LinearActivation::Relu && M * N > 0) {
    // g * (out > 0): out is max(pre, 0), so out > 0 exactly where the ReLU passed its input.
    masked.resize(size_t(M * N));
    const T* o = out.data<T>();
    T* mk = masked.data();
    parallel_for(0, M * N, kElementwiseGrain, [&](int64_t i0, int64_t i1) {
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i) mk[i] = o[i] > T(0) ? g[i] : T(0);
    });
    g = mk;
  }
  linear_backward_impl<T>(g, x.data<T>(), w.data<T>(), ptr_or_null<T>(grad_x), ptr_or_null<T>(grad_w),
                          ptr_or_null<T>(grad_bias), M, N, K);
}

}  // namespace

void linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act, const Tensor& out) {
  const int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
  if (M == 0 || N == 0) return;
  if (x.dtype() == DType::Float64)
    linear_forward(x.data<double>(), w.data<double>(), ptr_or_null<double>(bias), act, out.data<double>(), M, N, K);
  else {
    // Inference-sized GEMMs on weights that do not change reuse a packed copy (weight_pack_cache.h).
    std::shared_ptr<const SgemmPackedB> packed;
    if (M > kGemvRows && K > 0 && w.is_contiguous()) packed = packed_weight_for_inference(w);
    linear_forward(x.data<float>(), w.data<float>(), ptr_or_null<float>(bias), act, out.data<float>(), M, N, K,
                   packed.get());
  }
}

void linear_backward(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                     LinearActivation act, const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) {
  if (x.dtype() == DType::Float64) backward_typed<double>(grad_out, out, x, w, act, grad_x, grad_w, grad_bias);
  else backward_typed<float>(grad_out, out, x, w, act, grad_x, grad_w, grad_bias);
}

}  // namespace aimass::cpu
