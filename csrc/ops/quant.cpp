#include "ops/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/convert.h"
#include "ops/cpu/blas_gemm.h"
#include "ops/creation.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/quant.h"
#include "quant/quantize.h"
#include "quant/weight_only.h"

namespace aimass {

namespace {

// Every operand of one call on `device`: ValueError naming the one that is not.
void check_on(const Tensor& t, Device device, const char* what, const char* op) {
  AM_CHECK(!t.defined() || t.device() == device, ValueError, op, ": ", what, " is ", t.describe(),
           ", but the other operands are on ", device.str(), " (move them to one device)");
}

// x as contiguous float32 on `device`, (rows, k) in its last axis.
Tensor float_rows(const Tensor& x, int64_t k, Device device, const char* op) {
  check_on(x, device, "the input", op);
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a floating input, got ", x.describe());
  AM_CHECK(x.dim() >= 1 && x.size(-1) == k, ValueError, op, ": expected an input of shape (..., ", k, "), got ",
           x.describe());
  return contiguous(to_dtype(x, DType::Float32));
}

Shape with_last(const Shape& s, int64_t last) {
  Shape out = s;
  out.back() = last;
  return out;
}

void check_vector(const Tensor& t, int64_t n, const char* what, const char* op, Device device = Device()) {
  if (!t.defined()) return;
  AM_CHECK(t.dim() == 1 && t.size(0) == n && t.dtype() == DType::Float32 && t.is_contiguous() &&
               t.device() == device,
           ValueError, op, ": ", what, " must be contiguous float32 (", n, ",) on ", device.str(), ", got ",
           t.describe());
}

// A contiguous (rows, cols) view of contiguous t.
Tensor matrix(const Tensor& t, int64_t rows, int64_t cols) {
  return Tensor::from_storage(t.storage(), t.offset(), {rows, cols}, {cols, 1}, t.dtype());
}

// Preparation ops run on the CPU: t there, and the results back on `device`.
Tensor on_cpu(const Tensor& t) { return t.device().is_cpu() ? t : to_device(t, Device()); }
Tensor back_to(const Tensor& t, Device device) { return device.is_cpu() ? t : to_device(t, device); }

void check_act(const ActivationQuant& aq, const char* op) {
  if (aq.dynamic) return;
  AM_CHECK(aq.scale > 0 && std::isfinite(aq.scale), ValueError, op, ": the activation scale must be positive, got ",
           aq.scale);
  AM_CHECK(aq.zero >= 0 && aq.zero <= 255, ValueError, op, ": the activation zero point must be in [0, 255], got ",
           aq.zero);
}

// Quantises (m, k) float rows into q, filling scale / zero per row (dynamic) or one (static).
void quantize_activations(const float* x, int64_t m, int64_t k, const ActivationQuant& aq, uint8_t* q,
                          std::vector<float>& scale, std::vector<int32_t>& zero) {
  if (aq.dynamic) {
    scale.resize(size_t(m));
    zero.resize(size_t(m));
    quant::quantize_rows_u8(x, m, k, k, q, k, scale.data(), zero.data());
  } else {
    scale.assign(1, aq.scale);
    zero.assign(1, aq.zero);
    quant::quantize_u8(x, m * k, aq.scale, aq.zero, q);
  }
}

}  // namespace

std::pair<Tensor, Tensor> quantize_per_channel_s8(const Tensor& w) {
  const char* op = "quantize_per_channel_s8";
  AM_CHECK(w.dim() == 2 && is_floating(w.dtype()) && w.numel() > 0, ValueError, op,
           ": expected non-empty floating weights (N, K), got ", w.describe());
  Tensor wf = contiguous(to_dtype(on_cpu(w), DType::Float32));
  const int64_t n = w.size(0), k = w.size(1);
  Tensor q = Tensor::empty({n, k}, DType::Int8), scale = Tensor::empty({n}, DType::Float32);
  quant::quantize_weights_s8(wf.data<float>(), n, k, k, q.data<int8_t>(), scale.data<float>());
  return {back_to(q, w.device()), back_to(scale, w.device())};
}

std::pair<Tensor, Tensor> quantize_weight_only(const Tensor& w, int64_t group, int bits) {
  const char* op = "quantize_weight_only";
  AM_CHECK(w.dim() == 2 && is_floating(w.dtype()) && w.numel() > 0, ValueError, op,
           ": expected non-empty floating weights (N, K), got ", w.describe());
  const int64_t n = w.size(0), k = w.size(1);
  quant::check_weight_only_format(n, k, group, bits);
  Tensor wf = contiguous(to_dtype(on_cpu(w), DType::Float32));
  Tensor q = Tensor::empty({n, quant::weight_only_row_bytes(k, group, bits)}, DType::UInt8);
  Tensor scales = Tensor::empty({n, quant::weight_only_groups(k, group)}, DType::Float16);
  quant::quantize_weight_only(wf.data<float>(), n, k, k, group, bits, q.data<uint8_t>(), scales.data<uint16_t>());
  return {back_to(q, w.device()), back_to(scales, w.device())};
}

namespace {

// q and scales on q's device.
void check_weight_only(const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits, const char* op) {
  AM_CHECK(q.dim() == 2 && q.dtype() == DType::UInt8 && q.is_contiguous(), ValueError, op,
           ": q must be contiguous uint8 (N, row_bytes), got ", q.describe());
  const int64_t n = q.size(0);
  quant::check_weight_only_format(n, k, group, bits);
  AM_CHECK(q.size(1) == quant::weight_only_row_bytes(k, group, bits), ValueError, op, ": q ", q.describe(),
           " does not hold ", k, " inputs at ", bits, " bits in groups of ", group, " (expected ",
           quant::weight_only_row_bytes(k, group, bits), " bytes a row)");
  AM_CHECK(scales.dim() == 2 && scales.dtype() == DType::Float16 && scales.is_contiguous() && scales.size(0) == n &&
               scales.size(1) == quant::weight_only_groups(k, group),
           ValueError, op, ": scales must be contiguous float16 (", n, ", ", quant::weight_only_groups(k, group),
           "), got ", scales.describe());
  check_on(scales, q.device(), "scales", op);
}

}  // namespace

Tensor dequantize_weight_only(const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits) {
  check_weight_only(q, scales, k, group, bits, "dequantize_weight_only");
  const Tensor qc = on_cpu(q), sc = on_cpu(scales);
  Tensor w = Tensor::empty({q.size(0), k}, DType::Float32);
  quant::dequantize_weight_only(qc.data<uint8_t>(), sc.data<uint16_t>(), q.size(0), k, group, bits, w.data<float>());
  return back_to(w, q.device());
}

std::shared_ptr<const quant::PackedInt8Weights> pack_int8(const Tensor& w_int8) {
  AM_CHECK(w_int8.device().is_cpu(), ValueError, "pack_int8: packs weights on the CPU, got ", w_int8.describe(),
           " (pack_int8_cuda prepares CUDA ones)");
  AM_CHECK(w_int8.dim() == 2 && w_int8.dtype() == DType::Int8 && w_int8.numel() > 0, ValueError,
           "pack_int8: expected int8 weights (N, K), got ", w_int8.describe());
  Tensor w = contiguous(w_int8);
  return std::make_shared<const quant::PackedInt8Weights>(
      quant::pack_int8_weights(w.data<int8_t>(), w.size(0), w.size(1), w.size(1)));
}

Tensor int8_linear(const Tensor& x, const quant::PackedInt8Weights& w, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu) {
  const char* op = "int8_linear";
  Tensor xf = float_rows(x, w.k, Device(), op);
  check_vector(w_scale, w.n, "w_scale", op);
  AM_CHECK(w_scale.defined(), ValueError, op, ": w_scale is required");
  check_vector(bias, w.n, "bias", op);
  check_act(aq, op);
  const int64_t m = w.k ? xf.numel() / w.k : 0;
  Tensor y = Tensor::empty(with_last(x.shape(), w.n), DType::Float32);
  if (m == 0) return y;
  std::vector<uint8_t> q(size_t(m * w.k));
  std::vector<float> scale;
  std::vector<int32_t> zero;
  quantize_activations(xf.data<float>(), m, w.k, aq, q.data(), scale, zero);
  quant::Int8Epilogue ep;
  ep.a_scale = scale.data();
  ep.a_zero = zero.data();
  ep.a_per_row = aq.dynamic;
  ep.w_scale = w_scale.data<float>();
  ep.bias = bias.defined() ? bias.data<float>() : nullptr;
  ep.relu = relu;
  quant::int8_gemm_f32(q.data(), m, w.k, w, ep, y.data<float>(), w.n);
  return y;
}

namespace {

// Row r of the output for one padded u8 image (C, HP, WP) (the padding already in it, so no window
// is clipped): ow rows of dst (row stride ld), each the C*KH*KW window values in (c, kh, kw) order.
// off: (C*KH,) the offset of each window row (c, kh) in the image. Each dst row is written in
// order; for 3-wide dense windows as 4-byte copies whose fourth byte the next window row
// overwrites (the last one copies 3), so the image must have 1 readable byte after its end.
void im2col_row_u8(const uint8_t* img, const int64_t* off, int64_t groups, int64_t wp, int64_t kw,
                   const Conv2dParams& p, int64_t r, int64_t ow, uint8_t* dst, int64_t ld) {
  const int64_t sw = p.stride_w, dw = p.dilation_w;
  for (int64_t s = 0; s < ow; ++s) {
    const uint8_t* base = img + r * p.stride_h * wp + s * sw;
    uint8_t* d = dst + s * ld;
    if (dw == 1 && kw == 3) {
      for (int64_t g = 0; g + 1 < groups; ++g) {
        uint32_t v;
        std::memcpy(&v, base + off[g], 4);
        std::memcpy(d + g * 3, &v, 4);
      }
      std::memcpy(d + (groups - 1) * 3, base + off[groups - 1], 3);
    } else if (dw == 1) {
      for (int64_t g = 0; g < groups; ++g) std::memcpy(d + g * kw, base + off[g], size_t(kw));
    } else {
      for (int64_t g = 0; g < groups; ++g)
        for (int64_t b = 0; b < kw; ++b) d[g * kw + b] = base[off[g] + b * dw];
    }
  }
}

// out (images * pixels, o) -> y (images, o, pixels), in 32 x 32 tiles over the pool.
void transpose_to_nchw(const float* out, int64_t images, int64_t pixels, int64_t o, float* y) {
  constexpr int64_t kT = 32;
  const int64_t p_tiles = (pixels + kT - 1) / kT, o_tiles = (o + kT - 1) / kT;
  const int64_t per_image = p_tiles * o_tiles;
  parallel_for(0, images * per_image, std::max<int64_t>(1, 64 / std::max<int64_t>(per_image, 1)),
               [&](int64_t t0, int64_t t1) {
                 for (int64_t t = t0; t < t1; ++t) {
                   const int64_t img = t / per_image, pt = t % per_image / o_tiles, ot = t % o_tiles;
                   const float* src = out + img * pixels * o;
                   float* dst = y + img * o * pixels;
                   const int64_t p0 = pt * kT, p1 = std::min(pixels, p0 + kT);
                   const int64_t f0 = ot * kT, f1 = std::min(o, f0 + kT);
                   for (int64_t f = f0; f < f1; ++f)
                     for (int64_t px = p0; px < p1; ++px) dst[f * pixels + px] = src[px * o + f];
                 }
               });
}

}  // namespace

Tensor int8_conv2d(const Tensor& x, const quant::PackedInt8Weights& w, int64_t kh, int64_t kw, const Tensor& w_scale,
                   const Tensor& bias, const Conv2dParams& p, const ActivationQuant& aq, bool relu) {
  const char* op = "int8_conv2d";
  check_on(x, Device(), "the input", op);
  AM_CHECK(x.dim() == 4 && is_floating(x.dtype()), ValueError, op, ": expected a floating (N, C, H, W) input, got ",
           x.describe());
  AM_CHECK(p.groups == 1, NotImplementedError, op, ": grouped convolution is not quantised (groups=", p.groups, ")");
  AM_CHECK(!aq.dynamic, ValueError, op, ": convolution needs static activation quantisation (a calibrated scale)");
  check_act(aq, op);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  AM_CHECK(kh > 0 && kw > 0 && c * kh * kw == w.k, ValueError, op, ": the packed weights take ", w.k,
           " inputs per output, but the input ", x.describe(), " with a ", kh, "x", kw, " kernel gives ", c * kh * kw);
  check_vector(w_scale, w.n, "w_scale", op);
  check_vector(bias, w.n, "bias", op);
  const int64_t oh = (h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  AM_CHECK(oh > 0 && ow > 0, ValueError, op, ": the kernel is larger than the padded input ", x.describe());
  Tensor xf = contiguous(to_dtype(x, DType::Float32));
  const int64_t pixels = oh * ow, o = w.n;
  Tensor y = Tensor::empty({n, o, oh, ow}, DType::Float32);
  if (n == 0) return y;
  // The whole batch quantised once: u8 (N, C, H, W).
  // Buffers left uninitialised (new T[]): every byte is written before it is read, and
  // zero-filling a chunk's ~10 MiB took as long as its im2col.
  std::unique_ptr<uint8_t[]> xq(new uint8_t[size_t(xf.numel()) + 4]);  // + 4: see im2col_row_u8
  quant::quantize_u8(xf.data<float>(), xf.numel(), aq.scale, aq.zero, xq.get());
  const uint8_t pad = uint8_t(aq.zero);
  // Padded with the zero point (real 0): (N, C, HP, WP), so that im2col never clips a window.
  const int64_t hp = h + p.pad_top + p.pad_bottom, wp = wd + p.pad_left + p.pad_right;
  std::unique_ptr<uint8_t[]> padded;
  const uint8_t* xpad = xq.get();
  if (hp != h || wp != wd) {
    padded.reset(new uint8_t[size_t(n * c * hp * wp) + 4]);
    uint8_t* pd = padded.get();
    pd[n * c * hp * wp] = pd[n * c * hp * wp + 1] = pd[n * c * hp * wp + 2] = pd[n * c * hp * wp + 3] = pad;
    parallel_for(0, n * c, std::max<int64_t>(1, 65536 / std::max<int64_t>(hp * wp, 1)), [&](int64_t q0, int64_t q1) {
      for (int64_t plane = q0; plane < q1; ++plane) {
        uint8_t* dst = pd + plane * hp * wp;
        const uint8_t* src = xq.get() + plane * h * wd;
        std::memset(dst, pad, size_t(p.pad_top * wp));
        for (int64_t yy = 0; yy < h; ++yy) {
          uint8_t* row = dst + (p.pad_top + yy) * wp;
          for (int64_t x = 0; x < p.pad_left; ++x) row[x] = pad;  // loops: these are a few bytes
          for (int64_t x = 0; x < wd; ++x) row[p.pad_left + x] = src[yy * wd + x];
          for (int64_t x = p.pad_left + wd; x < wp; ++x) row[x] = pad;
        }
        std::memset(dst + (p.pad_top + h) * wp, pad, size_t(p.pad_bottom * wp));
      }
    });
    xpad = pd;
  }
  const float a_scale = aq.scale;
  const int32_t a_zero = aq.zero;
  quant::Int8Epilogue ep;
  ep.a_scale = &a_scale;
  ep.a_zero = &a_zero;
  ep.a_per_row = false;
  ep.w_scale = w_scale.data<float>();
  ep.bias = bias.defined() ? bias.data<float>() : nullptr;
  ep.relu = relu;
  // Chunks of images: cols (images * pixels, C*KH*KW) u8 -> one GEMM -> out (images * pixels, O)
  // float -> y (images, O, pixels). A chunk's two buffers stay under kChunkBytes.
  constexpr int64_t kChunkBytes = int64_t(32) << 20;
  const int64_t image_bytes = pixels * (w.k + o * int64_t(sizeof(float)));
  const int64_t chunk = std::max<int64_t>(1, std::min(n, kChunkBytes / std::max<int64_t>(image_bytes, 1)));
  std::unique_ptr<uint8_t[]> cols_buf(new uint8_t[size_t(chunk * pixels * w.k)]);
  std::unique_ptr<float[]> out_buf(new float[size_t(chunk * pixels * o)]);
  uint8_t* cols = cols_buf.get();
  float* out = out_buf.get();
  float* yp = y.data<float>();
  const int64_t image_in = c * hp * wp;
  // Rows of the cols buffer per task: whole output rows of one image, ~16 KiB of bytes a task.
  const int64_t row_grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(ow * w.k, 1));
  std::vector<int64_t> row_off(size_t(c * kh));  // (c, kh) -> offset of that window row in an image
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t a = 0; a < kh; ++a) row_off[size_t(ch * kh + a)] = (ch * hp + a * p.dilation_h) * wp;
  for (int64_t i0 = 0; i0 < n; i0 += chunk) {
    const int64_t images = std::min(chunk, n - i0);
    parallel_for(0, images * oh, row_grain, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t img = t / oh, r = t % oh;
        im2col_row_u8(xpad + (i0 + img) * image_in, row_off.data(), c * kh, wp, kw, p, r, ow,
                      cols + (img * pixels + r * ow) * w.k, w.k);
      }
    });
    quant::int8_gemm_f32(cols, images * pixels, w.k, w, ep, out, o);
    transpose_to_nchw(out, images, pixels, o, yp + i0 * o * pixels);
  }
  return y;
}

Tensor weight_only_linear(const Tensor& x, const Tensor& q, const Tensor& scales, int64_t k, int64_t group, int bits,
                          const Tensor& bias, bool relu) {
  const char* op = "weight_only_linear";
  check_weight_only(q, scales, k, group, bits, op);
  const int64_t n = q.size(0);
  check_vector(bias, n, "bias", op, q.device());
  Tensor xf = float_rows(x, k, q.device(), op);
  const int64_t m = xf.numel() / k;
  Tensor y = Tensor::empty(with_last(x.shape(), n), DType::Float32, q.device());
  if (m == 0) return y;
  if (q.device().is_cuda()) {
    // The GEMV reads q 4 bytes at a time: a view at an odd offset is copied to a fresh buffer.
    const Tensor qa = reinterpret_cast<uintptr_t>(q.data_ptr()) % 4 ? to_dtype(q, q.dtype(), true) : q;
    weight_only_gemm_kernel.on(q.device())(matrix(xf, m, k), qa, scales, k, group, bits, bias, relu, matrix(y, m, n));
    return y;
  }
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  constexpr int64_t kSmallBatch = 32;  // up to here the weights' bytes bound the time: dequantise in registers
  if (m <= kSmallBatch) {
    quant::weight_only_gemm(xf.data<float>(), m, k, q.data<uint8_t>(), scales.data<uint16_t>(), n, k, group, bits, b,
                            relu, y.data<float>(), n);
    return y;
  }
  // Larger batches are compute-bound: dequantise a tile of output channels at a time (never the
  // whole matrix) and run the float GEMM on it.
  constexpr int64_t kTile = 64;
  const int64_t row_bytes = q.size(1), groups = scales.size(1);
  const uint8_t* qp = q.data<uint8_t>();
  const uint16_t* sp = scales.data<uint16_t>();
  float* yp = y.data<float>();
  const float* xp = xf.data<float>();
  SingleThreadedBlas one_blas_thread;
  parallel_for(0, (n + kTile - 1) / kTile, 1, [&](int64_t t0, int64_t t1) {
    std::vector<float> tile(size_t(kTile * k));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n0 = t * kTile, rows = std::min(kTile, n - n0);
      quant::dequantize_weight_only(qp + n0 * row_bytes, sp + n0 * groups, rows, k, group, bits, tile.data());
      cpu::blas_gemm<float>(false, true, m, rows, k, xp, k, tile.data(), k, 0.0f, yp + n0, n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < rows; ++j) {
          float v = yp[i * n + n0 + j] + (b ? b[n0 + j] : 0.0f);
          yp[i * n + n0 + j] = relu ? std::max(v, 0.0f) : v;
        }
    }
  });
  return y;
}

Tensor int8_embedding(const Tensor& indices, const Tensor& table, const Tensor& scale) {
  const char* op = "int8_embedding";
  check_on(indices, table.device(), "indices", op);
  AM_CHECK(!is_floating(indices.dtype()) && indices.dtype() != DType::Bool, TypeError, op,
           ": indices must be an integer tensor, got ", indices.describe());
  AM_CHECK(table.dim() == 2 && table.dtype() == DType::Int8 && table.is_contiguous(), ValueError, op,
           ": the table must be contiguous int8 (num, dim), got ", table.describe());
  const int64_t num = table.size(0), dim = table.size(1);
  check_vector(scale, num, "scale", op, table.device());
  Tensor idx = contiguous(to_dtype(indices, DType::Int64));
  Shape shape = indices.shape();
  shape.push_back(dim);
  Tensor out = Tensor::empty(shape, DType::Float32, table.device());
  if (table.device().is_cuda()) {
    Tensor bad = full({1}, Scalar::from_int(0), DType::Int32, table.device());
    int8_embedding_kernel.on(table.device())(idx, table, scale, out, bad);
    if (to_device(bad, Device()).data<int32_t>()[0] == 0) return out;
    const Tensor ids = to_device(idx, Device());  // the error path only: find the id to name
    for (int64_t i = 0; i < ids.numel(); ++i) {
      const int64_t id = ids.data<int64_t>()[i];
      AM_CHECK(id >= 0 && id < num, IndexError, op, ": index ", id, " is out of range [0, ", num, ")");
    }
    return out;
  }
  const int64_t* ids = idx.data<int64_t>();
  const int8_t* q = table.data<int8_t>();
  const float* s = scale.data<float>();
  float* y = out.data<float>();
  const int64_t n = idx.numel();
  for (int64_t i = 0; i < n; ++i)
    AM_CHECK(ids[i] >= 0 && ids[i] < num, IndexError, op, ": index ", ids[i], " is out of range [0, ", num, ")");
  parallel_for(0, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1)), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int8_t* row = q + ids[i] * dim;
      const float d = s[ids[i]];
      float* dst = y + i * dim;
      for (int64_t j = 0; j < dim; ++j) dst[j] = float(row[j]) * d;
    }
  });
  return out;
}

// ------------------------------------------------------------------------------------------ CUDA

std::shared_ptr<const CudaInt8Weights> pack_int8_cuda(const Tensor& w_int8) {
  AM_CHECK(w_int8.device().is_cuda(), ValueError, "pack_int8_cuda: expected weights on a CUDA device, got ",
           w_int8.describe());
  AM_CHECK(w_int8.dim() == 2 && w_int8.dtype() == DType::Int8 && w_int8.numel() > 0, ValueError,
           "pack_int8_cuda: expected int8 weights (N, K), got ", w_int8.describe());
  const Tensor w = contiguous(to_device(w_int8, Device()));
  const int64_t n = w.size(0), k = w.size(1), np = (n + 3) / 4 * 4, kp = (k + 3) / 4 * 4;
  Tensor padded = full({np, kp}, Scalar::from_int(0), DType::Int8);
  Tensor col_sum = full({np}, Scalar::from_int(0), DType::Int32);
  for (int64_t r = 0; r < n; ++r) {
    int32_t sum = 0;
    for (int64_t c = 0; c < k; ++c) {
      const int8_t v = w.data<int8_t>()[r * k + c];
      padded.data<int8_t>()[r * kp + c] = v;
      sum += v;
    }
    col_sum.data<int32_t>()[r] = sum;
  }
  auto out = std::make_shared<CudaInt8Weights>();
  out->n = n;
  out->k = k;
  out->w = to_device(padded, w_int8.device());
  out->col_sum = to_device(col_sum, w_int8.device());
  return out;
}

namespace {

// The activation (scale, zero) tensors int8_gemm reads: (m,) filled by quantize_u8 (dynamic) or
// (1,) holding the static pair.
std::pair<Tensor, Tensor> act_params(const ActivationQuant& aq, int64_t m, Device device) {
  if (aq.dynamic) return {Tensor::empty({m}, DType::Float32, device), Tensor::empty({m}, DType::Int32, device)};
  return {full({1}, Scalar::from_float(aq.scale), DType::Float32, device),
          full({1}, Scalar::from_int(aq.zero), DType::Int32, device)};
}

void check_cuda_weights(const CudaInt8Weights& w, const char* op) {
  AM_CHECK(w.w.defined() && w.col_sum.defined() && w.w.device().is_cuda() && w.w.dim() == 2 &&
               w.w.dtype() == DType::Int8 && w.w.size(0) % 4 == 0 && w.w.size(1) % 4 == 0 && w.w.size(0) >= w.n &&
               w.w.size(1) >= w.k && w.w.size(1) < w.k + 4 && w.col_sum.size(0) == w.w.size(0) &&
               w.col_sum.dtype() == DType::Int32 && w.col_sum.device() == w.w.device(),
           ValueError, op, ": the weights are not prepared for CUDA (use pack_int8_cuda)");
}

}  // namespace

Tensor int8_linear(const Tensor& x, const CudaInt8Weights& w, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu) {
  const char* op = "int8_linear";
  check_cuda_weights(w, op);
  const Device device = w.w.device();
  Tensor xf = float_rows(x, w.k, device, op);
  AM_CHECK(w_scale.defined(), ValueError, op, ": w_scale is required");
  check_vector(w_scale, w.n, "w_scale", op, device);
  check_vector(bias, w.n, "bias", op, device);
  check_act(aq, op);
  const int64_t m = xf.numel() / w.k, kp = w.w.size(1);
  Tensor y = Tensor::empty(with_last(x.shape(), w.n), DType::Float32, device);
  if (m == 0) return y;
  auto [scale, zero] = act_params(aq, m, device);
  Tensor q = Tensor::empty({m, kp}, DType::Int8, device);  // u8 - 128: int8_gemm's form
  quantize_u8_kernel.on(device)(matrix(xf, m, w.k), scale, zero, aq.dynamic, q);
  int8_gemm_kernel.on(device)(q, w.w, w.col_sum, scale, zero, w_scale, bias, relu, 1.0f, 0, matrix(y, m, w.n));
  return y;
}

Tensor int8_linear(const Tensor& x, const Tensor& w_int8, const Tensor& w_scale, const Tensor& bias,
                   const ActivationQuant& aq, bool relu) {
  if (w_int8.device().is_cuda()) return int8_linear(x, *pack_int8_cuda(w_int8), w_scale, bias, aq, relu);
  return int8_linear(x, *pack_int8(w_int8), w_scale, bias, aq, relu);
}

Tensor int8_conv2d(const Tensor& x, const CudaInt8Weights& w, int64_t kh, int64_t kw, const Tensor& w_scale,
                   const Tensor& bias, const Conv2dParams& p, const ActivationQuant& aq, bool relu) {
  const char* op = "int8_conv2d";
  check_cuda_weights(w, op);
  const Device device = w.w.device();
  check_on(x, device, "the input", op);
  AM_CHECK(x.dim() == 4 && is_floating(x.dtype()), ValueError, op, ": expected a floating (N, C, H, W) input, got ",
           x.describe());
  AM_CHECK(p.groups == 1, NotImplementedError, op, ": grouped convolution is not quantised (groups=", p.groups, ")");
  AM_CHECK(!aq.dynamic, ValueError, op, ": convolution needs static activation quantisation (a calibrated scale)");
  check_act(aq, op);
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  AM_CHECK(kh > 0 && kw > 0 && c * kh * kw == w.k, ValueError, op, ": the packed weights take ", w.k,
           " inputs per output, but the input ", x.describe(), " with a ", kh, "x", kw, " kernel gives ", c * kh * kw);
  AM_CHECK(w_scale.defined(), ValueError, op, ": w_scale is required");
  check_vector(w_scale, w.n, "w_scale", op, device);
  check_vector(bias, w.n, "bias", op, device);
  const int64_t oh = (h + p.pad_top + p.pad_bottom - (kh - 1) * p.dilation_h - 1) / p.stride_h + 1;
  const int64_t ow = (wd + p.pad_left + p.pad_right - (kw - 1) * p.dilation_w - 1) / p.stride_w + 1;
  AM_CHECK(oh > 0 && ow > 0, ValueError, op, ": the kernel is larger than the padded input ", x.describe());
  const Tensor xf = contiguous(to_dtype(x, DType::Float32));
  const int64_t pixels = oh * ow, o = w.n, kp = w.w.size(1), np = w.w.size(0);
  Tensor y = Tensor::empty({n, o, oh, ow}, DType::Float32, device);
  if (n == 0) return y;
  auto [scale, zero] = act_params(aq, 1, device);
  // Chunks of images: cols (images * pixels, Kp) int8 -> the GEMM (its int32 scratch (rows, Np)
  // and float out (rows, O)) -> y (images, O, pixels); the three buffers <= kChunkBytes.
  constexpr int64_t kChunkBytes = int64_t(64) << 20;
  const int64_t image_bytes = pixels * (kp + 4 * np + 4 * o);
  const int64_t chunk = std::max<int64_t>(1, std::min(n, kChunkBytes / std::max<int64_t>(image_bytes, 1)));
  Tensor cols = Tensor::empty({chunk * pixels, kp}, DType::Int8, device);
  Tensor out = Tensor::empty({chunk * pixels, o}, DType::Float32, device);
  for (int64_t i0 = 0; i0 < n; i0 += chunk) {
    const int64_t images = std::min(chunk, n - i0), rows = images * pixels;
    const Tensor xi = Tensor::from_storage(xf.storage(), xf.offset() + i0 * c * h * wd, {images, c, h, wd},
                                           {c * h * wd, h * wd, wd, 1}, DType::Float32);
    const Tensor ci = matrix(cols, rows, kp), oi = matrix(out, rows, o);
    int8_im2col_kernel.on(device)(xi, kh, kw, p, aq.scale, aq.zero, ci);
    int8_gemm_kernel.on(device)(ci, w.w, w.col_sum, scale, zero, w_scale, bias, relu, 1.0f, 0, oi);
    // oi (images, pixels, O) read as (images, O, pixels) into y's images [i0, i0 + images).
    const Tensor src = oi.as_strided({images, o, pixels}, {pixels * o, 1, o}, oi.offset());
    const Tensor dst = Tensor::from_storage(y.storage(), y.offset() + i0 * o * pixels, {images, o, pixels},
                                            {o * pixels, pixels, 1}, DType::Float32);
    copy_kernel.on(device)(src, dst);
  }
  return y;
}

}  // namespace aimass
