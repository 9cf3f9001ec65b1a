// Element types of a Tensor, their sizes and names, the promotion rules of binary ops,
// and visit_dtype(): the one switch that turns a runtime DType into a C++ type.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#if defined(__CUDACC__)
#define AM_HOST_DEVICE __host__ __device__
#else
#define AM_HOST_DEVICE
#endif

namespace aimass {

// Ordered by promotion category: bool < integers < floating.
enum class DType : uint8_t { Bool, UInt8, Int8, Int32, Int64, Float16, BFloat16, Float32, Float64 };
constexpr int kNumDTypes = 9;

// IEEE binary16, stored as bits; arithmetic happens in float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  AM_HOST_DEVICE Half(float f) : bits(from_float(f)) {}
  AM_HOST_DEVICE operator float() const { return to_float(bits); }

  AM_HOST_DEVICE static float to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, f;
    if (exp == 0x1f) {
      f = sign | 0x7f800000u | (man << 13);  // inf / nan
    } else if (exp != 0) {
      f = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
      f = sign;
    } else {  // subnormal half -> normal float
      int shift = 0;
      while (!(man & 0x400)) { man <<= 1; ++shift; }
      f = sign | ((113 - shift) << 23) | ((man & 0x3ff) << 13);
    }
    float out;
    memcpy(&out, &f, 4);
    return out;
  }
  // Round to nearest even, overflow to inf, nan stays nan.
  AM_HOST_DEVICE static uint16_t from_float(float value) {
    uint32_t f;
    memcpy(&f, &value, 4);
    uint32_t sign = (f >> 16) & 0x8000;
    uint32_t abs = f & 0x7fffffff;
    if (abs >= 0x7f800000u) return uint16_t(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0));
    if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00);  // rounds past 65504
    if (abs < 0x38800000u) {                                 // result is subnormal or zero
      if (abs < 0x33000000u) return uint16_t(sign);
      uint32_t man = (abs & 0x7fffff) | 0x800000;
      int shift = 126 - int(abs >> 23);  // 14..24
      uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1))) ++half;
      return uint16_t(sign | half);
    }
    uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
    return uint16_t(sign | ((rounded - 0x38000000u) >> 13));
  }
};

// bfloat16: the top half of a float32, rounded to nearest even.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  AM_HOST_DEVICE BFloat16(float f) : bits(from_float(f)) {}
  AM_HOST_DEVICE operator float() const {
    uint32_t f = uint32_t(bits) << 16;
    float out;
    memcpy(&out, &f, 4);
    return out;
  }
  AM_HOST_DEVICE static uint16_t from_float(float value) {
    uint32_t f;
    memcpy(&f, &value, 4);
    if ((f & 0x7fffffff) > 0x7f800000u) return uint16_t((f >> 16) | 0x40);  // quiet nan
    return uint16_t((f + 0x7fff + ((f >> 16) & 1)) >> 16);
  }
};

constexpr size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: case DType::UInt8: case DType::Int8: return 1;
    case DType::Float16: case DType::BFloat16: return 2;
    case DType::Int32: case DType::Float32: return 4;
    case DType::Int64: case DType::Float64: return 8;
  }
  return 0;
}
const char* dtype_name(DType t);  // "float32", ...
DType dtype_from_name(const std::string& name);  // throws TypeError on an unknown name
constexpr bool is_floating(DType t) { return t >= DType::Float16; }
constexpr bool is_integral(DType t) { return t >= DType::UInt8 && t <= DType::Int64; }
// NumPy-like promotion within our set: the wider of two types of one category; integer with
// floating gives the floating type; uint8 with int8 gives int32; float16 with bfloat16, float32.
DType promote_types(DType a, DType b);
// The dtype of a reduction result: sum/prod of bool and integers accumulate in int64.
DType sum_result_type(DType t);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::Int8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::Float16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };

// The type arithmetic on T is done in: float for the 16-bit floats, T otherwise.
template <typename T> struct AccType { using type = T; };
template <> struct AccType<Half> { using type = float; };
template <> struct AccType<BFloat16> { using type = float; };
template <> struct AccType<bool> { using type = int64_t; };
template <typename T> using acc_t = typename AccType<T>::type;

template <typename T> struct TypeTag { using type = T; };

// visit_dtype(dt, [&](auto tag) { using T = typename decltype(tag)::type; ... });
template <typename F>
AM_HOST_DEVICE decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(TypeTag<bool>{});
    case DType::UInt8: return f(TypeTag<uint8_t>{});
    case DType::Int8: return f(TypeTag<int8_t>{});
    case DType::Int32: return f(TypeTag<int32_t>{});
    case DType::Int64: return f(TypeTag<int64_t>{});
    case DType::Float16: return f(TypeTag<Half>{});
    case DType::BFloat16: return f(TypeTag<BFloat16>{});
    case DType::Float32: return f(TypeTag<float>{});
    case DType::Float64: break;
  }
  return f(TypeTag<double>{});
}

}  // namespace aimass
