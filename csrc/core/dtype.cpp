#include "core/dtype.h"

#include "core/error.h"

namespace aimass {

namespace {
constexpr const char* kNames[kNumDTypes] = {"bool",    "uint8",    "int8",    "int32",  "int64",
                                            "float16", "bfloat16", "float32", "float64"};
}

const char* dtype_name(DType t) { return kNames[static_cast<int>(t)]; }

DType dtype_from_name(const std::string& name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (name == kNames[i]) return static_cast<DType>(i);
  if (name == "float" || name == "half" || name == "double" || name == "int" || name == "long") {
    if (name == "float") return DType::Float32;
    if (name == "half") return DType::Float16;
    if (name == "double") return DType::Float64;
    if (name == "int") return DType::Int32;
    return DType::Int64;
  }
  throw TypeError(str_cat("unknown dtype '", name,
                          "'; expected one of bool, uint8, int8, int32, int64, float16, bfloat16, float32, float64"));
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a > b) std::swap(a, b);  // now a < b in category order
  if (b == DType::BFloat16 && a == DType::Float16) return DType::Float32;
  if (is_floating(b) || a == DType::Bool) return b;
  // both integers, a narrower than b
  if (a == DType::UInt8 && b == DType::Int8) return DType::Int32;
  return b;
}

DType sum_result_type(DType t) { return is_floating(t) ? t : DType::Int64; }

}  // namespace aimass
