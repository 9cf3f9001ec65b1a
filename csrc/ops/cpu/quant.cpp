// The CPU side of ops/kernels/quant.h: csrc/quant's kernels on the contracts' plain tensors (the
// reference the CUDA kernels are tested against; the CPU ops of ops/quant.cpp call csrc/quant
// directly, on weights packed once).
#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/kernels/quant.h"
#include "quant/int8_gemm.h"
#include "quant/quantize.h"
#include "quant/weight_only.h"

namespace aimass::cpu {

void quantize_u8(const Tensor& x, const Tensor& scale, const Tensor& zero, bool per_row, const Tensor& q) {
  const int64_t m = x.size(0), k = x.size(1), kp = q.size(1);
  uint8_t* out = static_cast<uint8_t*>(q.data_ptr());
  float* s = scale.data<float>();
  int32_t* z = zero.data<int32_t>();
  if (per_row) quant::quantize_rows_u8(x.data<float>(), m, k, k, out, kp, s, z);
  else
    for (int64_t r = 0; r < m; ++r) quant::quantize_u8(x.data<float>() + r * k, k, s[0], z[0], out + r * kp);
  for (int64_t r = 0; r < m; ++r) {
    uint8_t* row = out + r * kp;
    std::fill(row + k, row + kp, uint8_t(z[per_row ? r : 0]));
    if (q.dtype() == DType::Int8)
      for (int64_t c = 0; c < kp; ++c) row[c] ^= 0x80;
  }
}

void int8_gemm(const Tensor& a, const Tensor& w, const Tensor& col_sum, const Tensor& a_scale, const Tensor& a_zero,
               const Tensor& w_scale, const Tensor& bias, bool relu, float out_scale, int32_t out_zero,
               const Tensor& out) {
  const int64_t m = a.size(0), kp = a.size(1), n = out.size(1);
  if (m == 0) return;
  std::vector<uint8_t> a_u8(size_t(m * kp));
  const uint8_t* as8 = static_cast<const uint8_t*>(a.data_ptr());
  for (size_t i = 0; i < a_u8.size(); ++i) a_u8[i] = as8[i] ^ 0x80;
  // The packed weights' column sums are those of the first n rows of w (col_sum's padding is 0).
  const quant::PackedInt8Weights packed = quant::pack_int8_weights(w.data<int8_t>(), n, kp, kp);
  (void)col_sum;
  if (out.dtype() == DType::Int32) return quant::int8_gemm_s32(a_u8.data(), m, kp, packed, out.data<int32_t>(), n);
  quant::Int8Epilogue ep;
  ep.a_scale = a_scale.data<float>();
  ep.a_zero = a_zero.data<int32_t>();
  ep.a_per_row = a_scale.numel() != 1;  // (1,): per tensor; for m == 1 both read the same value
  ep.w_scale = w_scale.data<float>();
  ep.bias = bias.defined() ? bias.data<float>() : nullptr;
  ep.relu = relu;
  if (out.dtype() == DType::Float32) return quant::int8_gemm_f32(a_u8.data(), m, kp, packed, ep, out.data<float>(), n);
  quant::int8_gemm_u8(a_u8.data(), m, kp, packed, ep, out_scale, out_zero, static_cast<uint8_t*>(out.data_ptr()), n);
}

void int8_im2col(const Tensor& x, int64_t kh, int64_t kw, const Conv2dParams& p, float scale, int32_t zero,
                 const Tensor& cols) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3), kp = cols.size(1);
  const int64_t oh = (h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  std::vector<uint8_t> xq(size_t(x.numel()));
  quant::quantize_u8(x.data<float>(), x.numel(), scale, zero, xq.data());
  int8_t* dst = cols.data<int8_t>();
  const int8_t pad = int8_t(uint8_t(zero) ^ 0x80);
  for (int64_t img = 0; img < n; ++img)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        int8_t* row = dst + ((img * oh + oy) * ow + ox) * kp;
        std::fill(row, row + kp, pad);
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
              const int64_t ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              row[(ch * kh + ky) * kw + kx] = int8_t(xq[size_t(((img * c + ch) * h + iy) * wd + ix)] ^ 0x80);
            }
      }
}

void weight_only_gemm(const Tensor& x, const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits,
                      const Tensor& bias, bool relu, const Tensor& out) {
  quant::weight_only_gemm(x.data<float>(), x.size(0), k, static_cast<const uint8_t*>(q.data_ptr()),
                          static_cast<const uint16_t*>(scales.data_ptr()), q.size(0), k, group, bits,
                          bias.defined() ? bias.data<float>() : nullptr, relu, out.data<float>(), out.size(1));
}

void int8_embedding(const Tensor& ids, const Tensor& table, const Tensor& scale, const Tensor& out, const Tensor& bad) {
  const int64_t n = ids.numel(), num = table.size(0), dim = table.size(1);
  const int64_t* id = ids.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    float* dst = out.data<float>() + i * dim;
    if (id[i] < 0 || id[i] >= num) {
      std::fill(dst, dst + dim, 0.0f);
      bad.data<int32_t>()[0] = 1;
      continue;
    }
    const int8_t* row = table.data<int8_t>() + id[i] * dim;
    const float d = scale.data<float>()[id[i]];
    for (int64_t j = 0; j < dim; ++j) dst[j] = float(row[j]) * d;
  }
}

}  // namespace aimass::cpu
