// One row's worth of the SIMD table's contiguous loops, by element type, for the kernels
// that work row by row while a row sits in cache (softmax, cross-entropy).
#pragma once
#include <cstdint>

#include "ops/cpu/simd/simd.h"
#include "ops/kernels/elementwise.h"

namespace aimass::cpu {

template <typename T>
struct RowOps;

template <>
struct RowOps<float> {
  static void unary(UnaryOp op, const float* in, float* out, int64_t n) { simd::kernels().unary_f32(op, in, out, n); }
  static void binary(BinaryOp op, const float* a, int64_t as, const float* b, int64_t bs, float* out, int64_t n) {
    simd::kernels().binary_f32(op, a, as, b, bs, out, n);
  }
  static float max(const float* in, int64_t n) { return simd::kernels().max_f32(in, n); }
  static float sum(const float* in, int64_t n) { return simd::kernels().sum_f32(in, n); }
  static double sum_as_double(const float* in, int64_t n) { return simd::kernels().sum_f32_as_f64(in, n); }
};

template <>
struct RowOps<double> {
  static void unary(UnaryOp op, const double* in, double* out, int64_t n) { simd::kernels().unary_f64(op, in, out, n); }
  static void binary(BinaryOp op, const double* a, int64_t as, const double* b, int64_t bs, double* out, int64_t n) {
    simd::kernels().binary_f64(op, a, as, b, bs, out, n);
  }
  static double max(const double* in, int64_t n) { return simd::kernels().max_f64(in, n); }
  static double sum(const double* in, int64_t n) { return simd::kernels().sum_f64(in, n); }
  static double sum_as_double(const double* in, int64_t n) { return simd::kernels().sum_f64(in, n); }
};

}  // namespace aimass::cpu
