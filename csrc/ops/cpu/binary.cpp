// out = a op b, elementwise; a and b are already broadcast to out's shape (stride-0 dims), one
// dtype; out has that dtype, or bool for comparisons and logical ops. float32 / float64 rows
// (and float16 / bfloat16 ones, through float32 tiles), int32 / int64 comparisons and logical
// ops on bools, where each input is contiguous or a repeated scalar, go to the SIMD table; the
// rest runs the scalar definition (scalar_ops.h) in a strided loop.
#include <algorithm>

#include "ops/cpu/simd/simd.h"
#include "ops/cpu/strided_loop.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

// Elements per float32 tile when a 16-bit float row is computed in float32 (fits in L1).
constexpr int64_t kTile = 1024;

template <typename T>
void widen(const T* in, int64_t step, float* out, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  if (step == 0) std::fill(out, out + n, float(*in));
  else if constexpr (std::is_same_v<T, Half>) k.f16_to_f32(in, out, n);
  else k.bf16_to_f32(in, out, n);
}

// A contiguous (or scalar-broadcast) float16 / bfloat16 row: widened to float32 tiles, computed
// by the SIMD table, narrowed back (comparisons write their bools directly).
template <BinaryOp op, typename T, typename R>
void half_row_via_f32(const T* a, bool a_step, const T* b, bool b_step, R* out, int64_t n) {
  float ta[kTile], tb[kTile], to[kTile];
  for (int64_t i = 0; i < n; i += kTile) {
    const int64_t m = std::min(kTile, n - i);
    widen(a + (a_step ? i : 0), a_step, ta, m);
    widen(b + (b_step ? i : 0), b_step, tb, m);
    if constexpr (is_comparison(op)) {
      simd::kernels().binary_f32(op, ta, 1, tb, 1, out + i, m);
    } else {
      simd::kernels().binary_f32(op, ta, 1, tb, 1, to, m);
      if constexpr (std::is_same_v<T, Half>) simd::kernels().f32_to_f16(to, out + i, m);
      else simd::kernels().f32_to_bf16(to, out + i, m);
    }
  }
}

// A contiguous (or scalar-broadcast) row the SIMD table has a loop for, beyond float32 / float64
// arithmetic: comparisons of int32 / int64 and logical ops on bools. False when there is none.
template <BinaryOp op, typename T>
bool simd_bool_row(const T* a, int64_t a_step, const T* b, int64_t b_step, bool* out, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  if constexpr (op >= BinaryOp::Eq && op <= BinaryOp::Ge && std::is_same_v<T, int32_t>) {
    k.compare_i32(op, a, a_step, b, b_step, out, n);
    return true;
  } else if constexpr (op >= BinaryOp::Eq && op <= BinaryOp::Ge && std::is_same_v<T, int64_t>) {
    k.compare_i64(op, a, a_step, b, b_step, out, n);
    return true;
  } else if constexpr ((op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr) && std::is_same_v<T, bool>) {
    k.logical_bool(op, a, a_step, b, b_step, out, n);
    return true;
  }
  return false;
}

template <BinaryOp op, typename T>
void binary_row(const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
  using A = acc_t<T>;
  using R = std::conditional_t<is_comparison(op), bool, T>;
  constexpr int64_t size = sizeof(T);
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
    bool a_ok = s[1] == size || s[1] == 0, b_ok = s[2] == size || s[2] == 0;
    if (s[0] == int64_t(sizeof(R)) && a_ok && b_ok) {
      const T* a = reinterpret_cast<const T*>(p[1]);
      const T* b = reinterpret_cast<const T*>(p[2]);
      if constexpr (std::is_same_v<T, float>) simd::kernels().binary_f32(op, a, s[1] != 0, b, s[2] != 0, p[0], n);
      else simd::kernels().binary_f64(op, a, s[1] != 0, b, s[2] != 0, p[0], n);
      return;
    }
  }
  if constexpr (is_comparison(op)) {
    if (s[0] == 1 && (s[1] == size || s[1] == 0) && (s[2] == size || s[2] == 0) &&
        simd_bool_row<op>(reinterpret_cast<const T*>(p[1]), s[1] != 0, reinterpret_cast<const T*>(p[2]), s[2] != 0,
                          reinterpret_cast<bool*>(p[0]), n))
      return;
  }
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    if (s[0] == int64_t(sizeof(R)) && (s[1] == size || s[1] == 0) && (s[2] == size || s[2] == 0)) {
      half_row_via_f32<op>(reinterpret_cast<const T*>(p[1]), s[1] != 0, reinterpret_cast<const T*>(p[2]), s[2] != 0,
                           reinterpret_cast<R*>(p[0]), n);
      return;
    }
  }
  if (s[0] == int64_t(sizeof(R)) && s[1] == size && s[2] == size) {
    R* out = reinterpret_cast<R*>(p[0]);
    const T* a = reinterpret_cast<const T*>(p[1]);
    const T* b = reinterpret_cast<const T*>(p[2]);
    for (int64_t i = 0; i < n; ++i) out[i] = R(binary_scalar<op>(A(a[i]), A(b[i])));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    A a = A(*reinterpret_cast<const T*>(p[1] + i * s[1]));
    A b = A(*reinterpret_cast<const T*>(p[2] + i * s[2]));
    *reinterpret_cast<R*>(p[0] + i * s[0]) = R(binary_scalar<op>(a, b));
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  auto loop = make_strided_loop<3>({&out, &a, &b});
  if (loop.numel == 0) return;
  visit_dtype(a.dtype(), [&](auto dtype_tag) {
    using T = typename decltype(dtype_tag)::type;
    visit_binary_op(op, [&](auto op_tag) { parallel_rows(loop, binary_row<decltype(op_tag)::value, T>); });
  });
}

}  // namespace aimass::cpu
