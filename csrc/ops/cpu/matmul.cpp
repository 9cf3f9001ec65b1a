// out[b] = a[b] @ b[b]: a (B, M, K), b (B, K, N), out (B, M, N) contiguous. Each of a and b has
// unit stride in one of its last two dims, which maps onto BLAS's transpose flags; a batch
// stride of 0 (broadcast) is just a pointer that does not move.
//   float32 / float64: scipy_cblas_sgemm / dgemm, one call per batch (BLAS threads itself;
//                      small matrices are spread over batches instead).
//   float16 / bfloat16: each batch widened to float32, sgemm, narrowed back.
//   bool / integers:   a blocked loop accumulating in int64 (wrapping), stored as the dtype.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

// Below this many multiply-adds per batch, BLAS runs single-threaded and we thread over batches.
constexpr int64_t kSmallGemm = int64_t(1) << 18;

// A (rows, cols) operand: strides in elements, as the op layer handed it over.
struct Operand {
  const char* data;
  int64_t batch_stride, rows, cols, row_stride, col_stride;  // batch stride in bytes
};

struct BlasLayout {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
  bool usable;
};

// Row-major BLAS wants either unit column stride and ld = row stride >= cols (NoTrans), or unit
// row stride and ld = column stride >= rows (Trans). A dim of size 1 has no meaningful stride.
BlasLayout blas_layout(const Operand& m) {
  if (m.col_stride == 1 || m.cols == 1) {
    int64_t ld = m.rows == 1 ? std::max<int64_t>(1, m.cols) : m.row_stride;
    if (ld >= std::max<int64_t>(1, m.cols) && ld <= INT_MAX) return {CblasNoTrans, ld, true};
  }
  if (m.row_stride == 1 || m.rows == 1) {
    int64_t ld = m.cols == 1 ? std::max<int64_t>(1, m.rows) : m.col_stride;
    if (ld >= std::max<int64_t>(1, m.rows) && ld <= INT_MAX) return {CblasTrans, ld, true};
  }
  return {CblasNoTrans, 0, false};
}

template <typename T>
const T* element(const Operand& m, int64_t b, int64_t r, int64_t c) {
  return reinterpret_cast<const T*>(m.data + b * m.batch_stride) + r * m.row_stride + c * m.col_stride;
}

// Batch b of m as a contiguous row-major (rows, cols) float matrix of type F.
template <typename F, typename T>
void to_contiguous(const Operand& m, int64_t b, F* dst) {
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c) dst[r * m.cols + c] = F(acc_t<T>(*element<T>(m, b, r, c)));
}

template <typename F>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, const F* a, int64_t lda,
          const F* b, int64_t ldb, F* c) {
  if constexpr (std::is_same_v<F, float>)
    scipy_cblas_sgemm(CblasRowMajor, ta, tb, blasint(M), blasint(N), blasint(K), 1.0f, a, blasint(lda), b, blasint(ldb), 0.0f, c, blasint(N));
  else
    scipy_cblas_dgemm(CblasRowMajor, ta, tb, blasint(M), blasint(N), blasint(K), 1.0, a, blasint(lda), b, blasint(ldb), 0.0, c, blasint(N));
}

// F is float or double; T is the tensors' element type (F itself, or a 16-bit float with F = float).
template <typename F, typename T>
void blas_matmul(const Operand& a, const Operand& b, T* out, int64_t B, int64_t M, int64_t N, int64_t K) {
  constexpr bool direct = std::is_same_v<F, T>;
  const BlasLayout la = blas_layout(a), lb = blas_layout(b);
  auto one_batch = [&](int64_t i) {
    std::vector<F> a_tmp, b_tmp, c_tmp;
    const F* pa;
    const F* pb;
    BlasLayout use_a = la, use_b = lb;
    if (direct && la.usable) {
      pa = element<F>(a, i, 0, 0);
    } else {
      a_tmp.resize(size_t(M * K));
      to_contiguous<F, T>(a, i, a_tmp.data());
      pa = a_tmp.data();
      use_a = {CblasNoTrans, std::max<int64_t>(1, K), true};
    }
    if (direct && lb.usable) {
      pb = element<F>(b, i, 0, 0);
    } else {
      b_tmp.resize(size_t(K * N));
      to_contiguous<F, T>(b, i, b_tmp.data());
      pb = b_tmp.data();
      use_b = {CblasNoTrans, std::max<int64_t>(1, N), true};
    }
    if constexpr (direct) {
      gemm<F>(use_a.trans, use_b.trans, M, N, K, pa, use_a.ld, pb, use_b.ld, out + i * M * N);
    } else {
      c_tmp.resize(size_t(M * N));
      gemm<F>(use_a.trans, use_b.trans, M, N, K, pa, use_a.ld, pb, use_b.ld, c_tmp.data());
      for (int64_t k = 0; k < M * N; ++k) out[i * M * N + k] = T(c_tmp[size_t(k)]);
    }
  };
  const int64_t work = M * N * std::max<int64_t>(K, 1);
  if (work < kSmallGemm) {
    SingleThreadedBlas one_blas_thread;
    parallel_for(0, B, std::max<int64_t>(1, kSmallGemm / work), [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) one_batch(i);
    });
  } else {
    for (int64_t i = 0; i < B; ++i) one_batch(i);
  }
}

// Integers and bool: out row m = sum_k a[m, k] * b[k, :], accumulated in int64.
template <typename T>
void integer_matmul(const Operand& a, const Operand& b, T* out, int64_t B, int64_t M, int64_t N, int64_t K) {
  using A = int64_t;
  parallel_for(0, B * M, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, N * K)), [&](int64_t r0, int64_t r1) {
    std::vector<A> acc(static_cast<size_t>(N));
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t i = row / M, m = row % M;
      std::fill(acc.begin(), acc.end(), A(0));
      for (int64_t k = 0; k < K; ++k) {
        const A av = A(*element<T>(a, i, m, k));
        const T* brow = element<T>(b, i, k, 0);
        for (int64_t n = 0; n < N; ++n) acc[size_t(n)] = wrap_add(acc[size_t(n)], wrap_mul(av, A(brow[n * b.col_stride])));
      }
      T* dst = out + row * N;
      for (int64_t n = 0; n < N; ++n) dst[n] = std::is_same_v<T, bool> ? T(acc[size_t(n)] != 0) : T(acc[size_t(n)]);
    }
  });
}

Operand operand_of(const Tensor& t) {
  return {static_cast<const char*>(t.data_ptr()), t.strides()[0] * int64_t(t.itemsize()), t.shape()[1], t.shape()[2],
          t.strides()[1], t.strides()[2]};
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  AM_CHECK(a.dim() == 3 && b.dim() == 3 && out.dim() == 3 && out.is_contiguous(), RuntimeError,
           "matmul (cpu kernel): expected (B, M, K) @ (B, K, N) -> contiguous (B, M, N), got ", a.describe(), ", ",
           b.describe(), " -> ", out.describe());
  const int64_t B = out.shape()[0], M = out.shape()[1], N = out.shape()[2], K = a.shape()[2];
  if (B == 0 || M == 0 || N == 0) return;
  AM_CHECK(M <= INT_MAX && N <= INT_MAX && K <= INT_MAX, ValueError, "matmul: matrix dims ", out.shape(),
           " with K = ", K, " exceed the BLAS's 32-bit sizes");
  if (K == 0) {  // an empty sum: zeros (all-zero bits is 0 in every dtype)
    std::memset(out.data_ptr(), 0, out.nbytes());
    return;
  }
  const Operand oa = operand_of(a), ob = operand_of(b);
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, double>) blas_matmul<double>(oa, ob, out.data<T>(), B, M, N, K);
    else if constexpr (std::is_floating_point_v<acc_t<T>>) blas_matmul<float>(oa, ob, out.data<T>(), B, M, N, K);
    else integer_matmul(oa, ob, out.data<T>(), B, M, N, K);
  });
}

}  // namespace aimass::cpu
