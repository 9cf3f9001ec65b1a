// The CUDA int8 / int4 kernels (ops/kernels/quant.h, through the dispatch table) against their CPU
// references (aimass::cpu::*, i.e. csrc/quant) on the same data: the u8 bytes with their (scale,
// zero), the int32 sums, the float and u8 epilogues and im2col exactly, the weight-only GEMM
// within 2e-5 * sum_k |x * w| + 1e-6. Both int8 GEMM paths: cuBLASLt and the dp4a fallback
// (AIMASS_CUDA_INT8_GEMM=cublaslt / dp4a). With no GPU every case skips itself.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "core/device_api.h"
#include "ops/convert.h"
#include "ops/kernels/quant.h"
#include "quant/weight_only.h"

using namespace aimass;

#define SKIP_WITHOUT_CUDA() \
  if (!aimass::cuda_is_available()) GTEST_SKIP() << aimass::cuda_unavailable_reason()

namespace {

const Device kCuda(DeviceType::CUDA, 0);
std::mt19937 gen(11);

Tensor uniform(const Shape& shape, float lo, float hi) {
  Tensor t = Tensor::empty(shape, DType::Float32);
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(gen);
  return t;
}
Tensor gpu(const Tensor& t) { return t.defined() ? to_device(t, kCuda) : t; }
Tensor back(const Tensor& t) { return to_device(t, Device()); }

// The same bytes (float: the same bits, NaN equal to NaN).
void expect_same(const Tensor& want, const Tensor& got_cuda, const std::string& what) {
  const Tensor got = back(got_cuda);
  ASSERT_EQ(want.shape(), got.shape()) << what;
  const size_t item = want.itemsize(), n = size_t(want.numel());
  const unsigned char* a = static_cast<const unsigned char*>(want.data_ptr());
  const unsigned char* b = static_cast<const unsigned char*>(got.data_ptr());
  for (size_t i = 0; i < n; ++i) {
    if (std::memcmp(a + i * item, b + i * item, item) == 0) continue;
    if (want.dtype() == DType::Float32 && std::isnan(want.data<float>()[i]) && std::isnan(got.data<float>()[i])) continue;
    const double w = want.dtype() == DType::Float32 ? want.data<float>()[i]
                     : want.dtype() == DType::Int32 ? want.data<int32_t>()[i]
                                                    : a[i * item];
    const double g = want.dtype() == DType::Float32 ? got.data<float>()[i]
                     : want.dtype() == DType::Int32 ? got.data<int32_t>()[i]
                                                    : b[i * item];
    ADD_FAILURE() << what << ": element " << i << " is " << g << " on cuda, " << w << " on cpu";
    return;
  }
}

// Runs body once through each int8 GEMM path.
template <typename Body>
void for_each_int8_path(Body body) {
  for (const char* path : {"auto", "dp4a"}) {  // auto: cuBLASLt where it offers an algorithm
    setenv("AIMASS_CUDA_INT8_GEMM", path, 1);
    body(std::string(path));
  }
  setenv("AIMASS_CUDA_INT8_GEMM", "cublaslt", 1);  // required, no fallback: shapes it must take
  body(std::string("cublaslt"));
  unsetenv("AIMASS_CUDA_INT8_GEMM");
}

}  // namespace

TEST(QuantCudaKernels, QuantizeU8MatchesCpuBytesAndParams) {
  SKIP_WITHOUT_CUDA();
  for (int64_t m : {1, 3, 16, 64})
    for (int64_t k : {1, 7, 64, 301})
      for (bool per_row : {true, false})
        for (DType form : {DType::UInt8, DType::Int8}) {
          Tensor x = uniform({m, k}, -3.0f, 2.0f);
          if (m >= 3) {
            x.data<float>()[1 * k] = NAN;
            for (int64_t j = 0; j < k; ++j) x.data<float>()[2 * k + j] = 0.0f;
          }
          const int64_t kp = (k + 3) / 4 * 4, sn = per_row ? m : 1;
          Tensor q = Tensor::empty({m, kp}, form), s = Tensor::empty({sn}, DType::Float32);
          Tensor z = Tensor::empty({sn}, DType::Int32);
          if (!per_row) {
            s.data<float>()[0] = 0.0195f;
            z.data<int32_t>()[0] = 120;
          }
          Tensor qg = Tensor::empty({m, kp}, form, kCuda), sg = gpu(s), zg = gpu(z);
          quantize_u8_kernel.on(kCuda)(gpu(x), sg, zg, per_row, qg);
          cpu::quantize_u8(x, s, z, per_row, q);
          const std::string what = "quantize_u8 (" + std::to_string(m) + ", " + std::to_string(k) + ")" +
                                   (per_row ? " per row" : " static") + (form == DType::Int8 ? " int8" : " uint8");
          expect_same(q, qg, what);
          expect_same(s, sg, what + " scale");
          expect_same(z, zg, what + " zero");
        }
}

TEST(QuantCudaKernels, Int8GemmMatchesCpuExactly) {
  SKIP_WITHOUT_CUDA();
  struct Shape3 { int64_t m, n, k; };
  for_each_int8_path([](const std::string& path) {
    for (Shape3 sh : {Shape3{1, 5, 7}, Shape3{3, 17, 33}, Shape3{16, 40, 64}, Shape3{64, 33, 130},
                      Shape3{1, 1, 1}, Shape3{37, 100, 257}, Shape3{64, 128, 256}}) {
      const int64_t m = sh.m, n = sh.n, k = sh.k, kp = (k + 3) / 4 * 4, np = (n + 3) / 4 * 4;
      if (path == "cublaslt" && (np % 8 || kp % 16)) continue;  // the required run: well-aligned shapes only
      Tensor a = Tensor::empty({m, kp}, DType::Int8), w = Tensor::empty({np, kp}, DType::Int8);
      Tensor cs = Tensor::empty({np}, DType::Int32);
      std::uniform_int_distribution<int> ub(0, 255), wb(-127, 127);
      for (int64_t i = 0; i < m * kp; ++i) a.data<int8_t>()[i] = int8_t(uint8_t(ub(gen)) ^ 0x80);
      for (int64_t r = 0; r < np; ++r) {
        int32_t sum = 0;
        for (int64_t c = 0; c < kp; ++c) {
          const int8_t v = r < n && c < k ? int8_t(wb(gen)) : int8_t(0);
          w.data<int8_t>()[r * kp + c] = v;
          sum += v;
        }
        cs.data<int32_t>()[r] = sum;
      }
      for (bool per_row : {true, false}) {
        const int64_t sn = per_row ? m : 1;
        Tensor as = uniform({sn}, 0.001f, 0.05f), az = Tensor::empty({sn}, DType::Int32);
        for (int64_t i = 0; i < sn; ++i) az.data<int32_t>()[i] = ub(gen);
        Tensor ws = uniform({n}, 0.001f, 0.02f), bias = per_row ? uniform({n}, -5.0f, 5.0f) : Tensor();
        for (DType dt : {DType::Int32, DType::Float32, DType::UInt8}) {
          Tensor want = Tensor::empty({m, n}, dt), got = Tensor::empty({m, n}, dt, kCuda);
          cpu::int8_gemm(a, w, cs, as, az, ws, bias, per_row, 0.37f, 97, want);
          int8_gemm_kernel.on(kCuda)(gpu(a), gpu(w), gpu(cs), gpu(as), gpu(az), gpu(ws), gpu(bias), per_row, 0.37f, 97,
                                     got);
          expect_same(want, got, "int8_gemm " + path + " (" + std::to_string(m) + ", " + std::to_string(n) + ", " +
                                     std::to_string(k) + ") " + dtype_name(dt));
        }
      }
    }
  });
}

TEST(QuantCudaKernels, Int8Im2colMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  Conv2dParams plain, odd;
  odd.stride_h = 2;
  odd.pad_top = odd.pad_bottom = 1;
  odd.pad_left = 2;
  odd.dilation_w = 2;
  for (const Conv2dParams& p : {plain, odd}) {
    const int64_t n = 3, c = 3, h = 9, wd = 8, kh = 3, kw = 2;
    Tensor x = uniform({n, c, h, wd}, -1.0f, 3.0f);
    const int64_t oh = (h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
    const int64_t ow = (wd + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
    const int64_t kp = (c * kh * kw + 3) / 4 * 4;
    Tensor want = Tensor::empty({n * oh * ow, kp}, DType::Int8), got = Tensor::empty({n * oh * ow, kp}, DType::Int8, kCuda);
    cpu::int8_im2col(x, kh, kw, p, 0.017f, 60, want);
    int8_im2col_kernel.on(kCuda)(gpu(x), kh, kw, p, 0.017f, 60, got);
    expect_same(want, got, "int8_im2col");
  }
}

TEST(QuantCudaKernels, WeightOnlyGemmMatchesCpu) {
  SKIP_WITHOUT_CUDA();
  for (int bits : {4, 8})
    for (int64_t group : {32, 64, 128})
      for (int64_t m : {1, 3, 16, 17, 64})
        for (int64_t k : {131, 256}) {
          const int64_t n = 70;
          Tensor w = uniform({n, k}, -1.0f, 1.0f), x = uniform({m, k}, -2.0f, 2.0f), b = uniform({n}, -1.0f, 1.0f);
          const int64_t rb = quant::weight_only_row_bytes(k, group, bits), groups = quant::weight_only_groups(k, group);
          Tensor q = Tensor::empty({n, rb}, DType::UInt8), sc = Tensor::empty({n, groups}, DType::Float16);
          quant::quantize_weight_only(w.data<float>(), n, k, k, group, bits, q.data<uint8_t>(), sc.data<uint16_t>());
          Tensor deq = Tensor::empty({n, k}, DType::Float32);
          quant::dequantize_weight_only(q.data<uint8_t>(), sc.data<uint16_t>(), n, k, group, bits, deq.data<float>());
          const bool relu = m == 3;
          Tensor want = Tensor::empty({m, n}, DType::Float32), got = Tensor::empty({m, n}, DType::Float32, kCuda);
          cpu::weight_only_gemm(x, q, sc, k, group, bits, b, relu, want);
          weight_only_gemm_kernel.on(kCuda)(gpu(x), gpu(q), gpu(sc), k, group, bits, gpu(b), relu, got);
          const Tensor g = back(got);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double mag = 0;
              for (int64_t t = 0; t < k; ++t)
                mag += std::fabs(double(x.data<float>()[i * k + t]) * deq.data<float>()[j * k + t]);
              ASSERT_LE(std::fabs(double(g.data<float>()[i * n + j]) - want.data<float>()[i * n + j]), 2e-5 * mag + 1e-6)
                  << "weight_only_gemm bits " << bits << " group " << group << " m " << m << " k " << k << " at (" << i
                  << ", " << j << ")";
            }
        }
}

TEST(QuantCudaKernels, Int8EmbeddingMatchesCpuAndFlagsBadIds) {
  SKIP_WITHOUT_CUDA();
  const int64_t num = 30, dim = 17, count = 12;
  Tensor table = Tensor::empty({num, dim}, DType::Int8), scale = uniform({num}, 0.01f, 0.1f);
  std::uniform_int_distribution<int> wb(-127, 127);
  for (int64_t i = 0; i < num * dim; ++i) table.data<int8_t>()[i] = int8_t(wb(gen));
  for (bool with_bad : {false, true}) {
    Tensor ids = Tensor::empty({count}, DType::Int64);
    for (int64_t i = 0; i < count; ++i) ids.data<int64_t>()[i] = (i * 7) % num;
    if (with_bad) ids.data<int64_t>()[5] = -1;
    Tensor want = Tensor::empty({count, dim}, DType::Float32), bad = Tensor::empty({1}, DType::Int32);
    bad.data<int32_t>()[0] = 0;
    Tensor got = Tensor::empty({count, dim}, DType::Float32, kCuda), bad_g = gpu(bad);
    cpu::int8_embedding(ids, table, scale, want, bad);
    int8_embedding_kernel.on(kCuda)(gpu(ids), gpu(table), gpu(scale), got, bad_g);
    expect_same(want, got, "int8_embedding");
    EXPECT_EQ(back(bad_g).data<int32_t>()[0], int32_t(with_bad));
  }
}
