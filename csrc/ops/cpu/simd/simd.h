// The vectorised contiguous loops of the CPU kernels. simd/simd_kernels.cpp is compiled once per
// instruction set (baseline SSE2, AVX2 + FMA + F16C, AVX-512), each copy in its own namespace
// (aimass::simd::baseline, ::avx2, ::avx512) exporting one KernelTable; kernels() returns the
// table of cpu_isa() (core/cpu_isa.h), so one build runs everywhere and uses what the CPU has.
#pragma once
#include <cstdint>

#include "core/cpu_isa.h"
#include "ops/kernels.h"

namespace aimass::simd {

// Every loop runs over n contiguous elements. A "step" is 1 for an array, 0 for a scalar that
// is repeated (a broadcast operand).
struct KernelTable {
  const char* level;
  void (*unary_f32)(UnaryOp op, const float* in, float* out, int64_t n);  // not LogicalNot
  void (*unary_f64)(UnaryOp op, const double* in, double* out, int64_t n);
  // out is float / double for arithmetic ops, bool for comparisons and logical ops.
  void (*binary_f32)(BinaryOp op, const float* a, int64_t a_step, const float* b, int64_t b_step, void* out, int64_t n);
  void (*binary_f64)(BinaryOp op, const double* a, int64_t a_step, const double* b, int64_t b_step, void* out, int64_t n);
  // out[i] = a[i] op b[i] as bool bytes 0 / 1 for op in Eq..Ge (NaN compares false, except Ne).
  void (*compare_f32)(BinaryOp op, const float* a, int64_t a_step, const float* b, int64_t b_step, bool* out, int64_t n);
  void (*compare_f64)(BinaryOp op, const double* a, int64_t a_step, const double* b, int64_t b_step, bool* out, int64_t n);
  void (*compare_i32)(BinaryOp op, const int32_t* a, int64_t a_step, const int32_t* b, int64_t b_step, bool* out, int64_t n);
  void (*compare_i64)(BinaryOp op, const int64_t* a, int64_t a_step, const int64_t* b, int64_t b_step, bool* out, int64_t n);
  // LogicalAnd / LogicalOr of bool bytes, and LogicalNot (any nonzero byte is true).
  void (*logical_bool)(BinaryOp op, const bool* a, int64_t a_step, const bool* b, int64_t b_step, bool* out, int64_t n);
  void (*logical_not_bool)(const bool* in, bool* out, int64_t n);
  void (*clamp_f32)(const float* in, float lo, float hi, float* out, int64_t n);
  void (*f16_to_f32)(const Half* in, float* out, int64_t n);
  void (*f32_to_f16)(const float* in, Half* out, int64_t n);
  void (*bf16_to_f32)(const BFloat16* in, float* out, int64_t n);
  void (*f32_to_bf16)(const float* in, BFloat16* out, int64_t n);
  // Reductions of n contiguous elements. Sums are pairwise over blocks (error grows as log n).
  float (*sum_f32)(const float* in, int64_t n);
  double (*sum_f64)(const double* in, int64_t n);
  double (*sum_f32_as_f64)(const float* in, int64_t n);
  // Max / min are NaN when any element is NaN; n > 0.
  float (*max_f32)(const float* in, int64_t n);
  float (*min_f32)(const float* in, int64_t n);
  double (*max_f64)(const double* in, int64_t n);
  double (*min_f64)(const double* in, int64_t n);
  // Index of the first max / min; the first NaN if any element is NaN. n > 0.
  int64_t (*argmax_f32)(const float* in, int64_t n);
  int64_t (*argmin_f32)(const float* in, int64_t n);
  int64_t (*argmax_f64)(const double* in, int64_t n);
  int64_t (*argmin_f64)(const double* in, int64_t n);
  // sum of (x - mean)^2, accumulated in double (the second pass of a variance).
  double (*sum_sq_dev_f32)(const float* in, int64_t n, double mean);
  double (*sum_sq_dev_f64)(const double* in, int64_t n, double mean);
  // out[i] += sum over r < rows of in[r * ld + i], i < cols: a column sum over rows.
  void (*add_rows_f32)(const float* in, int64_t rows, int64_t cols, int64_t ld, float* out);
  void (*add_rows_f64)(const double* in, int64_t rows, int64_t cols, int64_t ld, double* out);
  // out[i] = cond[i] ? a[i] : b[i] for elements of 1 << k bytes (where_bits[k], k < 4), all
  // contiguous: where moves bits, so one loop per element size serves every dtype.
  void (*where_bits[4])(const bool* cond, const void* a, const void* b, void* out, int64_t n);
  // ---- normalisation and activations (ops/cpu/norm.cpp, ops/cpu/activation.cpp)
  // out[i] = op(in[i]); grad_in[i] = grad_out[i] * op'(x[i]) (ops/activation_ops.h). param:
  // LeakyRelu's negative slope.
  void (*activation_f32)(ActivationOp op, const float* in, float* out, int64_t n, float param);
  void (*activation_f64)(ActivationOp op, const double* in, double* out, int64_t n, double param);
  void (*activation_backward_f32)(ActivationOp op, const float* x, const float* grad_out, float* grad_in, int64_t n,
                                  float param);
  void (*activation_backward_f64)(ActivationOp op, const double* x, const double* grad_out, double* grad_in,
                                  int64_t n, double param);
  // One row of layer norm, n > 0: y = (x - mean) * rstd * w + b (w, b: n values or null for
  // ones / zeros); *mean and *rstd receive the row's statistics (LayerNormFn).
  void (*layer_norm_row_f32)(const float* x, const float* w, const float* b, float* y, int64_t n, float eps,
                             float* mean, float* rstd);
  void (*layer_norm_row_f64)(const double* x, const double* w, const double* b, double* y, int64_t n, double eps,
                             double* mean, double* rstd);
  // Its gradient for one row: dx as in LayerNormBackwardFn (w null for ones) and, when dw is
  // not null, dw[i] += dy[i] * xhat[i] and db[i] += dy[i] (a thread's partial sums over rows).
  void (*layer_norm_backward_row_f32)(const float* dy, const float* x, const float* w, float mean, float rstd,
                                      float* dx, float* dw, float* db, int64_t n);
  void (*layer_norm_backward_row_f64)(const double* dy, const double* x, const double* w, double mean, double rstd,
                                      double* dx, double* dw, double* db, int64_t n);
};

// The table of cpu_isa().
const KernelTable& kernels();

namespace baseline { extern const KernelTable kTable; }
namespace avx2 { extern const KernelTable kTable; }
namespace avx512 { extern const KernelTable kTable; }

}  // namespace aimass::simd
