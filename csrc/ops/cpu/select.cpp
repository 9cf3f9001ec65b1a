// where (out = cond ? a : b) and clamp (out = min(max(in, lo), hi)): the two elementwise
// selections. where moves bytes, so it is instantiated per element size, not per dtype.
#include "ops/cpu/simd/simd.h"
#include "ops/cpu/strided_loop.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

template <typename Bits>
void where_row(const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
  constexpr int64_t size = sizeof(Bits);
  if (s[0] == size && s[1] == 1 && s[2] == size && s[3] == size) {
    constexpr int k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
    simd::kernels().where_bits[k](reinterpret_cast<const bool*>(p[1]), p[2], p[3], p[0], n);
    return;
  }
  if (s[0] == size && s[1] == 1 && (s[2] == 0 || s[3] == 0)) {  // where(mask, x, 0) and the like
    Bits* out = reinterpret_cast<Bits*>(p[0]);
    const bool* cond = reinterpret_cast<const bool*>(p[1]);
    const int64_t a_step = s[2] / size, b_step = s[3] / size;
    const Bits* a = reinterpret_cast<const Bits*>(p[2]);
    const Bits* b = reinterpret_cast<const Bits*>(p[3]);
    if (s[2] % size == 0 && s[3] % size == 0) {
      for (int64_t i = 0; i < n; ++i) out[i] = cond[i] ? a[i * a_step] : b[i * b_step];
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
    *reinterpret_cast<Bits*>(p[0] + i * s[0]) = *reinterpret_cast<const Bits*>(p[c ? 2 : 3] + i * s[c ? 2 : 3]);
  }
}

}  // namespace

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  auto loop = make_strided_loop<4>({&out, &cond, &a, &b});
  if (loop.numel == 0) return;
  switch (out.itemsize()) {
    case 1: parallel_rows(loop, where_row<uint8_t>); break;
    case 2: parallel_rows(loop, where_row<uint16_t>); break;
    case 4: parallel_rows(loop, where_row<uint32_t>); break;
    default: parallel_rows(loop, where_row<uint64_t>); break;
  }
}

void clamp(const Tensor& in, Scalar lo, Scalar hi, const Tensor& out) {
  auto loop = make_strided_loop<2>({&out, &in});
  if (loop.numel == 0) return;
  visit_dtype(in.dtype(), [&](auto dtype_tag) {
    using T = typename decltype(dtype_tag)::type;
    const clamp_t<T> lo_v = clamp_bound<T>(lo, true), hi_v = clamp_bound<T>(hi, false);
    parallel_rows(loop, [&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
      if constexpr (std::is_same_v<T, float>) {
        if (s[0] == 4 && s[1] == 4) {
          simd::kernels().clamp_f32(reinterpret_cast<const float*>(p[1]), lo_v, hi_v, reinterpret_cast<float*>(p[0]), n);
          return;
        }
      }
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(p[0] + i * s[0]) = clamp_scalar(*reinterpret_cast<const T*>(p[1] + i * s[1]), lo_v, hi_v);
    });
  });
}

}  // namespace aimass::cpu
