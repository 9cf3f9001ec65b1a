// Runs the CUDA int8 / int4 entry points (ops/cuda/quant_*.cu, emulated on the host) against the
// CPU kernels (ops/cpu/quant.cpp, i.e. csrc/quant). Exact where the CUDA side promises it (the u8
// bytes and their (scale, zero), the int32 sums, the float / u8 epilogue, im2col, the embedding);
// the weight-only GEMM within |emu - cpu| <= 2e-5 * sum_k |x * w| + 1e-6 (float sums in another
// order). The int8 GEMM runs its __dp4a kernel here: the emulated cuBLASLt offers no algorithm.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "ops/kernels/quant.h"
#include "quant/quantize.h"
#include "quant/weight_only.h"
#include <cublas_v2.h>

namespace aimass::gpu {
cublasHandle_t cublas_handle(int) { return nullptr; }
}

using namespace aimass;
std::mt19937 rng(7);
int failures = 0;

void fail(const char* what, int64_t at, double emu, double cpu) {
  std::printf("FAIL %s at %ld: emu %.9g cpu %.9g\n", what, long(at), emu, cpu);
  ++failures;
}

Tensor uniform(const Shape& shape, float lo, float hi) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

// Equal bytes (any 1-byte dtype), equal int32, or bit-equal float32 (NaN equal to NaN).
bool same(const Tensor& a, const Tensor& b, const char* what) {
  const size_t bytes = size_t(a.numel()) * a.itemsize();
  const unsigned char* x = static_cast<const unsigned char*>(a.data_ptr());
  const unsigned char* y = static_cast<const unsigned char*>(b.data_ptr());
  for (size_t i = 0; i < bytes; ++i)
    if (x[i] != y[i]) {
      const int64_t e = int64_t(i / a.itemsize());
      double ev = a.dtype() == DType::Float32 ? a.data<float>()[e] : a.dtype() == DType::Int32 ? a.data<int32_t>()[e] : x[i];
      double cv = b.dtype() == DType::Float32 ? b.data<float>()[e] : b.dtype() == DType::Int32 ? b.data<int32_t>()[e] : y[i];
      if (a.dtype() == DType::Float32 && std::isnan(ev) && std::isnan(cv)) continue;
      fail(what, e, ev, cv);
      return false;
    }
  return true;
}

void quantize_case(int64_t m, int64_t k, bool per_row, DType form) {
  Tensor x = uniform({m, k}, -3.0f, 2.0f);
  if (m > 2) {
    x.data<float>()[1 * k + k / 2] = NAN;                           // a row with a NaN
    for (int64_t j = 0; j < k; ++j) x.data<float>()[2 * k + j] = 0;  // an all-zero row
  }
  if (m > 3) x.data<float>()[3 * k] = INFINITY;
  const int64_t kp = (k + 3) / 4 * 4;
  Tensor q1 = Tensor::empty({m, kp}, form), q2 = Tensor::empty({m, kp}, form);
  const int64_t sn = per_row ? m : 1;
  Tensor s1 = Tensor::empty({sn}, DType::Float32), z1 = Tensor::empty({sn}, DType::Int32);
  Tensor s2 = Tensor::empty({sn}, DType::Float32), z2 = Tensor::empty({sn}, DType::Int32);
  if (!per_row) {
    s1.data<float>()[0] = s2.data<float>()[0] = 0.021f;
    z1.data<int32_t>()[0] = z2.data<int32_t>()[0] = 131;
  }
  aimass_cuda_quantize_u8(x, s1, z1, per_row, q1);
  cpu::quantize_u8(x, s2, z2, per_row, q2);
  char what[160];
  std::snprintf(what, sizeof what, "quantize_u8 m %ld k %ld %s %s", long(m), long(k), per_row ? "per-row" : "static",
                form == DType::Int8 ? "int8" : "uint8");
  same(q1, q2, what) && same(s1, s2, what) && same(z1, z2, what);
  std::printf("%s done\n", what);
}

// a (m, kp) int8 (u8 - 128), w (np, kp) int8 zero-padded, col_sum (np,).
void gemm_case(int64_t m, int64_t n, int64_t k, bool per_row, bool with_bias, bool relu) {
  const int64_t kp = (k + 3) / 4 * 4, np = (n + 3) / 4 * 4;
  Tensor a = Tensor::empty({m, kp}, DType::Int8), w = Tensor::empty({np, kp}, DType::Int8);
  Tensor cs = Tensor::empty({np}, DType::Int32);
  std::uniform_int_distribution<int> ub(0, 255), wb(-127, 127);
  for (int64_t i = 0; i < m * kp; ++i) a.data<int8_t>()[i] = int8_t(uint8_t(ub(rng)) ^ 0x80);
  for (int64_t r = 0; r < np; ++r) {
    int32_t sum = 0;
    for (int64_t c = 0; c < kp; ++c) {
      const int8_t v = r < n && c < k ? int8_t(wb(rng)) : int8_t(0);
      w.data<int8_t>()[r * kp + c] = v;
      sum += v;
    }
    cs.data<int32_t>()[r] = sum;
  }
  const int64_t sn = per_row ? m : 1;
  Tensor as = uniform({sn}, 0.001f, 0.05f), az = Tensor::empty({sn}, DType::Int32);
  for (int64_t i = 0; i < sn; ++i) az.data<int32_t>()[i] = ub(rng);
  Tensor ws = uniform({n}, 0.001f, 0.02f), bias = with_bias ? uniform({n}, -5.0f, 5.0f) : Tensor();
  char what[160];
  std::snprintf(what, sizeof what, "int8_gemm m %ld n %ld k %ld %s%s%s", long(m), long(n), long(k),
                per_row ? "per-row" : "per-tensor", with_bias ? " bias" : "", relu ? " relu" : "");
  for (DType dt : {DType::Int32, DType::Float32, DType::UInt8}) {
    Tensor o1 = Tensor::empty({m, n}, dt), o2 = Tensor::empty({m, n}, dt);
    aimass_cuda_int8_gemm(a, w, cs, as, az, ws, bias, relu, 0.37f, 97, o1);
    cpu::int8_gemm(a, w, cs, as, az, ws, bias, relu, 0.37f, 97, o2);
    same(o1, o2, what);
  }
  std::printf("%s done\n", what);
}

void im2col_case(int64_t n, int64_t c, int64_t h, int64_t wd, int64_t kh, int64_t kw, const Conv2dParams& p) {
  Tensor x = uniform({n, c, h, wd}, -1.0f, 3.0f);
  const int64_t oh = (h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  const int64_t kp = (c * kh * kw + 3) / 4 * 4;
  Tensor c1 = Tensor::empty({n * oh * ow, kp}, DType::Int8), c2 = Tensor::empty({n * oh * ow, kp}, DType::Int8);
  aimass_cuda_int8_im2col(x, kh, kw, p, 0.017f, 60, c1);
  cpu::int8_im2col(x, kh, kw, p, 0.017f, 60, c2);
  char what[160];
  std::snprintf(what, sizeof what, "int8_im2col x (%ld, %ld, %ld, %ld) kernel %ldx%ld stride %ld pad %ld/%ld dil %ld",
                long(n), long(c), long(h), long(wd), long(kh), long(kw), long(p.stride_h), long(p.pad_top),
                long(p.pad_left), long(p.dilation_w));
  same(c1, c2, what);
  std::printf("%s done\n", what);
}

void weight_only_case(int64_t m, int64_t n, int64_t k, int64_t group, int bits, bool with_bias, bool relu) {
  Tensor w = uniform({n, k}, -1.0f, 1.0f), x = uniform({m, k}, -2.0f, 2.0f);
  const int64_t rb = quant::weight_only_row_bytes(k, group, bits), groups = quant::weight_only_groups(k, group);
  Tensor q = Tensor::empty({n, rb}, DType::UInt8), sc = Tensor::empty({n, groups}, DType::Float16);
  quant::quantize_weight_only(w.data<float>(), n, k, k, group, bits, q.data<uint8_t>(), sc.data<uint16_t>());
  Tensor wd = Tensor::empty({n, k}, DType::Float32);
  quant::dequantize_weight_only(q.data<uint8_t>(), sc.data<uint16_t>(), n, k, group, bits, wd.data<float>());
  Tensor bias = with_bias ? uniform({n}, -1.0f, 1.0f) : Tensor();
  Tensor y1 = Tensor::empty({m, n}, DType::Float32), y2 = Tensor::empty({m, n}, DType::Float32);
  aimass_cuda_weight_only_gemm(x, q, sc, k, group, bits, bias, relu, y1);
  cpu::weight_only_gemm(x, q, sc, k, group, bits, bias, relu, y2);
  char what[160];
  std::snprintf(what, sizeof what, "weight_only_gemm m %ld n %ld k %ld group %ld bits %d%s%s", long(m), long(n),
                long(k), long(group), bits, with_bias ? " bias" : "", relu ? " relu" : "");
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double mag = 0;
      for (int64_t t = 0; t < k; ++t) mag += std::fabs(double(x.data<float>()[i * k + t]) * wd.data<float>()[j * k + t]);
      const double e = y1.data<float>()[i * n + j], c = y2.data<float>()[i * n + j];
      if (!(std::fabs(e - c) <= 2e-5 * mag + 1e-6)) {
        fail(what, i * n + j, e, c);
        i = m;
        break;
      }
    }
  std::printf("%s done\n", what);
}

void embedding_case(int64_t count, int64_t num, int64_t dim, bool with_bad) {
  Tensor table = Tensor::empty({num, dim}, DType::Int8), scale = uniform({num}, 0.01f, 0.1f);
  std::uniform_int_distribution<int> wb(-127, 127);
  for (int64_t i = 0; i < num * dim; ++i) table.data<int8_t>()[i] = int8_t(wb(rng));
  Tensor ids = Tensor::empty({count}, DType::Int64);
  std::uniform_int_distribution<int64_t> ui(0, num - 1);
  for (int64_t i = 0; i < count; ++i) ids.data<int64_t>()[i] = ui(rng);
  if (with_bad) ids.data<int64_t>()[count / 2] = num;
  Tensor o1 = Tensor::empty({count, dim}, DType::Float32), o2 = Tensor::empty({count, dim}, DType::Float32);
  Tensor b1 = Tensor::empty({1}, DType::Int32), b2 = Tensor::empty({1}, DType::Int32);
  b1.data<int32_t>()[0] = b2.data<int32_t>()[0] = 0;
  aimass_cuda_int8_embedding(ids, table, scale, o1, b1);
  cpu::int8_embedding(ids, table, scale, o2, b2);
  char what[160];
  std::snprintf(what, sizeof what, "int8_embedding count %ld num %ld dim %ld%s", long(count), long(num), long(dim),
                with_bad ? " with a bad id" : "");
  same(o1, o2, what) && same(b1, b2, what);
  if (b1.data<int32_t>()[0] != int32_t(with_bad)) fail(what, 0, b1.data<int32_t>()[0], with_bad);
  std::printf("%s done\n", what);
}

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "quick") == 0;
  for (bool per_row : {true, false})
    for (DType form : {DType::UInt8, DType::Int8}) quantize_case(5, 301, per_row, form);
  quantize_case(1, 3, true, DType::Int8);
  gemm_case(1, 5, 7, true, true, true);
  gemm_case(3, 17, 33, false, false, false);
  gemm_case(37, 33, 130, true, true, false);  // 2 x 2 tiles of the dp4a kernel, 2 k tiles
  if (!quick) gemm_case(16, 40, 64, false, true, true);
  Conv2dParams p;
  im2col_case(2, 3, 7, 6, 3, 2, p);
  p.stride_h = 2;
  p.pad_top = p.pad_bottom = 1;
  p.pad_left = 2;
  p.pad_right = 0;
  p.dilation_w = 2;
  im2col_case(2, 2, 6, 7, 2, 3, p);
  for (int bits : {4, 8})
    for (int64_t group : {32, 64, 128})
      for (int64_t m : {1, 3, 16, 17}) {
        if (quick && group == 64 && m != 3) continue;
        weight_only_case(m, 37, group == 32 ? 100 : 300, group, bits, m != 3, m == 16);  // x read 4 floats a load
        if (m != 17) weight_only_case(m, 9, 131, group, bits, true, false);                  // odd K: one float a load
      }
  embedding_case(9, 11, 13, false);
  embedding_case(9, 11, 13, true);
  std::printf(failures ? "quant emu: %d FAILURES\n" : "quant emu: all passed\n", failures);
  return failures ? 1 : 0;
}
