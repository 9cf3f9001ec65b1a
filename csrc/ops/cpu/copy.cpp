// copy (dst = src converted to dst's dtype) and fill (every element of out = value), any strides.
// A same-dtype contiguous copy is memcpy; float32 <-> float16 / bfloat16 rows use the SIMD
// table's conversions; the other pairs run convert() (scalar_ops.h) in a loop the compiler
// vectorises when the row is contiguous.
#include <algorithm>
#include <cstring>

#include "ops/cpu/simd/simd.h"
#include "ops/cpu/strided_loop.h"
#include "ops/scalar_ops.h"

namespace aimass::cpu {

namespace {

template <typename To, typename From>
bool simd_convert(const From* src, To* dst, int64_t n) {
  const simd::KernelTable& k = simd::kernels();
  if constexpr (std::is_same_v<From, float> && std::is_same_v<To, Half>) k.f32_to_f16(src, dst, n);
  else if constexpr (std::is_same_v<From, Half> && std::is_same_v<To, float>) k.f16_to_f32(src, dst, n);
  else if constexpr (std::is_same_v<From, float> && std::is_same_v<To, BFloat16>) k.f32_to_bf16(src, dst, n);
  else if constexpr (std::is_same_v<From, BFloat16> && std::is_same_v<To, float>) k.bf16_to_f32(src, dst, n);
  else return false;
  return true;
}

template <typename To, typename From>
void copy_row(const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
  if (s[0] == int64_t(sizeof(To)) && s[1] == int64_t(sizeof(From))) {
    To* dst = reinterpret_cast<To*>(p[0]);
    const From* src = reinterpret_cast<const From*>(p[1]);
    if constexpr (std::is_same_v<To, From>) {
      std::memmove(dst, src, size_t(n) * sizeof(To));  // src may be dst itself
    } else if (!simd_convert(src, dst, n)) {
      for (int64_t i = 0; i < n; ++i) dst[i] = convert<To>(src[i]);
    }
    return;
  }
  if (s[0] == int64_t(sizeof(To)) && s[1] == 0) {  // a broadcast source: one value, converted once
    To* dst = reinterpret_cast<To*>(p[0]);
    std::fill(dst, dst + n, convert<To>(*reinterpret_cast<const From*>(p[1])));
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    *reinterpret_cast<To*>(p[0] + i * s[0]) = convert<To>(*reinterpret_cast<const From*>(p[1] + i * s[1]));
}

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  auto loop = make_strided_loop<2>({&dst, &src});
  if (loop.numel == 0) return;
  visit_dtype(dst.dtype(), [&](auto to_tag) {
    visit_dtype(src.dtype(), [&](auto from_tag) {
      parallel_rows(loop, copy_row<typename decltype(to_tag)::type, typename decltype(from_tag)::type>);
    });
  });
}

void fill(const Tensor& out, Scalar value) {
  auto loop = make_strided_loop<1>({&out});
  if (loop.numel == 0) return;
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = scalar_as<T>(value);
    parallel_rows(loop, [v](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
      if (s[0] == int64_t(sizeof(T))) {
        T* dst = reinterpret_cast<T*>(p[0]);
        for (int64_t i = 0; i < n; ++i) dst[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
      }
    });
  });
}

}  // namespace aimass::cpu
