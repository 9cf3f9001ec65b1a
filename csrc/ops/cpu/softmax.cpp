// Softmax / log_softmax over rows of a (R, C) matrix, and their gradients. Each row is a few
// passes of the SIMD table's contiguous loops while it sits in cache; rows run in parallel.
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "ops/cpu/row_ops.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/softmax.h"

namespace aimass::cpu {

namespace {

template <typename T>
void softmax_rows(const T* in, T* out, int64_t R, int64_t C, bool log) {
  using Ops = RowOps<T>;
  parallel_for(0, R, std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<T> scratch(log ? size_t(C) : 0);
    for (int64_t r = r0; r < r1; ++r) {
      const T* x = in + r * C;
      T* y = out + r * C;
      // Shifting by the row max keeps exp from overflowing; an all -inf row stays NaN.
      T shift = Ops::max(x, C);
      if (std::isinf(shift)) shift = shift > 0 ? shift : T(0);
      Ops::binary(BinaryOp::Sub, x, 1, &shift, 0, y, C);  // y = x - max
      if (log) {
        // log_softmax = (x - max) - log(sum exp(x - max)): subtracting from the shifted row,
        // not x - (max + log sum), which loses digits when |x| is large.
        Ops::unary(UnaryOp::Exp, y, scratch.data(), C);
        T log_sum = std::log(Ops::sum(scratch.data(), C));
        Ops::binary(BinaryOp::Sub, y, 1, &log_sum, 0, y, C);
      } else {
        Ops::unary(UnaryOp::Exp, y, y, C);
        T inv = T(1) / Ops::sum(y, C);
        Ops::binary(BinaryOp::Mul, y, 1, &inv, 0, y, C);
      }
    }
  });
}

template <typename T>
void softmax_backward_rows(const T* y, const T* go, T* gi, int64_t R, int64_t C, bool log) {
  using Ops = RowOps<T>;
  parallel_for(0, R, std::max<int64_t>(1, kComputeGrain / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* yr = y + r * C;
      const T* gor = go + r * C;
      T* gir = gi + r * C;
      if (log) {
        // grad_in = grad_out - exp(y) * sum(grad_out)
        T s = Ops::sum(gor, C);
        Ops::unary(UnaryOp::Exp, yr, gir, C);
        Ops::binary(BinaryOp::Mul, gir, 1, &s, 0, gir, C);
        Ops::binary(BinaryOp::Sub, gor, 1, gir, 1, gir, C);
      } else {
        // grad_in = y * (grad_out - sum(grad_out * y))
        Ops::binary(BinaryOp::Mul, gor, 1, yr, 1, gir, C);
        T s = Ops::sum(gir, C);
        Ops::binary(BinaryOp::Sub, gor, 1, &s, 0, gir, C);
        Ops::binary(BinaryOp::Mul, gir, 1, yr, 1, gir, C);
      }
    }
  });
}

}  // namespace

void softmax(const Tensor& in, const Tensor& out, bool log) {
  const int64_t R = in.shape()[0], C = in.shape()[1];
  if (in.dtype() == DType::Float64) softmax_rows(in.data<double>(), out.data<double>(), R, C, log);
  else softmax_rows(in.data<float>(), out.data<float>(), R, C, log);
}

void softmax_backward(const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, bool log) {
  const int64_t R = y.shape()[0], C = y.shape()[1];
  if (y.dtype() == DType::Float64)
    softmax_backward_rows(y.data<double>(), grad_out.data<double>(), grad_in.data<double>(), R, C, log);
  else
    softmax_backward_rows(y.data<float>(), grad_out.data<float>(), grad_in.data<float>(), R, C, log);
}

}  // namespace aimass::cpu
