// out = op(in), elementwise, any strides. float32 / float64 rows that are contiguous go to the
// SIMD table; float16 / bfloat16 contiguous rows are widened to float32 in small tiles and go
// there too, and so does LogicalNot of contiguous bool / float / int32 / int64 rows; everything
// else runs the scalar definition (scalar_ops.h) in a strided loop.
#include <algorithm>

#include "ops/cpu/simd/simd.h"
#include "ops/cpu/strided_loop.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

// Elements per float32 tile when a 16-bit float row is computed in float32 (fits in L1).
constexpr int64_t kTile = 1024;

template <typename T>
void widen(const T* in, float* out, int64_t n) {
  if constexpr (std::is_same_v<T, Half>) simd::kernels().f16_to_f32(in, out, n);
  else simd::kernels().bf16_to_f32(in, out, n);
}
template <typename T>
void narrow(const float* in, T* out, int64_t n) {
  if constexpr (std::is_same_v<T, Half>) simd::kernels().f32_to_f16(in, out, n);
  else simd::kernels().f32_to_bf16(in, out, n);
}

// LogicalNot of a contiguous row by the SIMD table: bool bytes directly, float32 / float64 /
// int32 / int64 as x == 0 (NaN is not zero, so gives false as in NumPy). False when there is none.
template <typename T>
bool simd_logical_not(const T* in, bool* out, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  const T zero = T(0);
  if constexpr (std::is_same_v<T, bool>) k.logical_not_bool(in, out, n);
  else if constexpr (std::is_same_v<T, float>) k.compare_f32(BinaryOp::Eq, in, 1, &zero, 0, out, n);
  else if constexpr (std::is_same_v<T, double>) k.compare_f64(BinaryOp::Eq, in, 1, &zero, 0, out, n);
  else if constexpr (std::is_same_v<T, int32_t>) k.compare_i32(BinaryOp::Eq, in, 1, &zero, 0, out, n);
  else if constexpr (std::is_same_v<T, int64_t>) k.compare_i64(BinaryOp::Eq, in, 1, &zero, 0, out, n);
  else return false;
  return true;
}

template <UnaryOp op, typename T>
void unary_row(const char* in, int64_t in_step, char* out, int64_t out_step, int64_t n) {
  using A = acc_t<T>;
  using R = std::conditional_t<op == UnaryOp::LogicalNot, bool, T>;
  constexpr bool contiguous_fast = op != UnaryOp::LogicalNot && !std::is_same_v<T, bool>;
  if (contiguous_fast && in_step == int64_t(sizeof(T)) && out_step == int64_t(sizeof(T))) {
    if constexpr (contiguous_fast) {
      const T* src = reinterpret_cast<const T*>(in);
      T* dst = reinterpret_cast<T*>(out);
      if constexpr (std::is_same_v<T, float>) {
        simd::kernels().unary_f32(op, src, dst, n);
      } else if constexpr (std::is_same_v<T, double>) {
        simd::kernels().unary_f64(op, src, dst, n);
      } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        float tile[kTile];
        for (int64_t i = 0; i < n; i += kTile) {
          int64_t m = std::min(kTile, n - i);
          widen(src + i, tile, m);
          simd::kernels().unary_f32(op, tile, tile, m);
          narrow(tile, dst + i, m);
        }
      } else {
        for (int64_t i = 0; i < n; ++i) dst[i] = T(unary_scalar<op>(A(src[i])));
      }
      return;
    }
  }
  if constexpr (op == UnaryOp::LogicalNot) {
    if (in_step == int64_t(sizeof(T)) && out_step == 1 &&
        simd_logical_not(reinterpret_cast<const T*>(in), reinterpret_cast<bool*>(out), n))
      return;
  }
  for (int64_t i = 0; i < n; ++i) {
    A x = A(*reinterpret_cast<const T*>(in + i * in_step));
    *reinterpret_cast<R*>(out + i * out_step) = R(unary_scalar<op>(x));
  }
}

}  // namespace

void unary(UnaryOp op, const Tensor& in, const Tensor& out) {
  auto loop = make_strided_loop<2>({&out, &in});
  if (loop.numel == 0) return;
  visit_dtype(in.dtype(), [&](auto dtype_tag) {
    using T = typename decltype(dtype_tag)::type;
    visit_unary_op(op, [&](auto op_tag) {
      constexpr UnaryOp o = decltype(op_tag)::value;
      parallel_rows(loop, [](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
        unary_row<o, T>(p[1], s[1], p[0], s[0], n);
      });
    });
  });
}

}  // namespace aimass::cpu
