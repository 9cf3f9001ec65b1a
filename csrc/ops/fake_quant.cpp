#include "ops/fake_quant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/convert.h"

namespace aimass {

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// x as contiguous float32 on the CPU.
Tensor cpu_float32(const Tensor& x, const char* op, const char* what) {
  AM_CHECK(x.defined(), ValueError, op, ": ", what, " is undefined");
  AM_CHECK(x.device().is_cpu(), NotImplementedError, op, ": fake quantisation runs on the CPU for now; got ", what,
           " ", x.describe(), " (train the QAT model on the CPU: model.to('cpu'))");
  AM_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a floating ", what, ", got ", x.describe());
  return contiguous(to_dtype(x, DType::Float32));
}

void check_tensor_qparams(float scale, int32_t zero, const char* op) {
  AM_CHECK(scale > 0 && std::isfinite(scale), ValueError, op, ": scale must be positive and finite, got ", scale);
  AM_CHECK(zero >= 0 && zero <= 255, ValueError, op, ": zero point must be in [0, 255], got ", zero);
}

// scales (N,) for w (N, ...), as float32 on the CPU, each positive and finite.
Tensor channel_scales(const Tensor& w, const Tensor& scales, const char* op) {
  AM_CHECK(w.dim() >= 1 && w.size(0) > 0, ValueError, op, ": expected weights (N, ...), got ", w.describe());
  Tensor s = cpu_float32(scales, op, "scales");
  AM_CHECK(s.dim() == 1 && s.size(0) == w.size(0), ValueError, op, ": scales must be (", w.size(0),
           ",), one per output channel of ", w.describe(), ", got ", scales.describe());
  const float* p = s.data<float>();
  for (int64_t n = 0; n < s.size(0); ++n)
    AM_CHECK(p[n] > 0 && std::isfinite(p[n]), ValueError, op, ": scale of channel ", n, " must be positive and finite, got ",
             p[n]);
  return s;
}

// The rounded grid value before clamping (quant/quantize.cpp's to_u8 without the clamp).
inline float grid_u8(float x, float inv_scale, int32_t zero) { return std::nearbyint(x * inv_scale) + float(zero); }
inline float grid_s8(float w, float inv_scale) { return std::nearbyint(w * inv_scale); }

// Channels of w (n, k) for the per-channel ops: f(channel, offset range).
template <typename F>
void for_channels(int64_t n, int64_t k, F f) {
  parallel_for(0, n, std::max<int64_t>(1, 65536 / std::max<int64_t>(k, 1)), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) f(c, c * k, (c + 1) * k);
  });
}

}  // namespace

// ------------------------------------------------------------------------------------ per tensor

Tensor fake_quant_per_tensor_u8(const Tensor& x, float scale, int32_t zero) {
  const char* op = "fake_quant_per_tensor_u8";
  check_tensor_qparams(scale, zero, op);
  Tensor xf = cpu_float32(x, op, "input");
  Tensor out = Tensor::empty(x.shape(), DType::Float32);
  const float* in = xf.data<float>();
  float* o = out.data<float>();
  const float inv = 1.0f / scale;
  parallel_for(0, x.numel(), 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float r = grid_u8(in[i], inv, zero);
      o[i] = std::isnan(r) ? kNaN : (std::min(255.0f, std::max(0.0f, r)) - float(zero)) * scale;
    }
  });
  return to_dtype(out, x.dtype());
}

Tensor fake_quant_per_tensor_u8_backward(const Tensor& x, const Tensor& grad, float scale, int32_t zero) {
  const char* op = "fake_quant_per_tensor_u8_backward";
  check_tensor_qparams(scale, zero, op);
  AM_CHECK(grad.shape() == x.shape(), ValueError, op, ": grad ", grad.describe(), " does not match the input ",
           x.describe());
  Tensor xf = cpu_float32(x, op, "input"), gf = cpu_float32(grad, op, "grad");
  Tensor out = Tensor::empty(x.shape(), DType::Float32);
  const float *in = xf.data<float>(), *g = gf.data<float>();
  float* o = out.data<float>();
  const float inv = 1.0f / scale;
  parallel_for(0, x.numel(), 65536, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float r = grid_u8(in[i], inv, zero);
      o[i] = r >= 0.0f && r <= 255.0f ? g[i] : 0.0f;
    }
  });
  return to_dtype(out, grad.dtype());
}

// ----------------------------------------------------------------------------------- per channel

Tensor fake_quant_per_channel_s8(const Tensor& w, const Tensor& scales) {
  const char* op = "fake_quant_per_channel_s8";
  Tensor wf = cpu_float32(w, op, "weight");
  Tensor s = channel_scales(w, scales, op);
  Tensor out = Tensor::empty(w.shape(), DType::Float32);
  const float *in = wf.data<float>(), *sp = s.data<float>();
  float* o = out.data<float>();
  const int64_t n = w.size(0), k = w.numel() / n;
  for_channels(n, k, [&](int64_t c, int64_t i0, int64_t i1) {
    const float sc = sp[c], inv = 1.0f / sc;
    for (int64_t i = i0; i < i1; ++i) {
      const float r = grid_s8(in[i], inv);
      o[i] = std::isnan(r) ? kNaN : std::min(127.0f, std::max(-127.0f, r)) * sc;
    }
  });
  return to_dtype(out, w.dtype());
}

Tensor fake_quant_per_channel_s8_backward(const Tensor& w, const Tensor& grad, const Tensor& scales) {
  const char* op = "fake_quant_per_channel_s8_backward";
  AM_CHECK(grad.shape() == w.shape(), ValueError, op, ": grad ", grad.describe(), " does not match the weight ",
           w.describe());
  Tensor wf = cpu_float32(w, op, "weight"), gf = cpu_float32(grad, op, "grad");
  Tensor s = channel_scales(w, scales, op);
  Tensor out = Tensor::empty(w.shape(), DType::Float32);
  const float *in = wf.data<float>(), *g = gf.data<float>(), *sp = s.data<float>();
  float* o = out.data<float>();
  const int64_t n = w.size(0), k = w.numel() / n;
  for_channels(n, k, [&](int64_t c, int64_t i0, int64_t i1) {
    const float inv = 1.0f / sp[c];
    for (int64_t i = i0; i < i1; ++i) {
      const float r = grid_s8(in[i], inv);
      o[i] = r >= -127.0f && r <= 127.0f ? g[i] : 0.0f;
    }
  });
  return to_dtype(out, grad.dtype());
}

Tensor weight_scales_s8(const Tensor& w) {
  const char* op = "weight_scales_s8";
  Tensor wf = cpu_float32(w, op, "weight");
  AM_CHECK(w.dim() >= 1 && w.size(0) > 0 && w.numel() > 0, ValueError, op, ": expected non-empty weights (N, ...), got ",
           w.describe());
  const int64_t n = w.size(0), k = w.numel() / n;
  Tensor scales = Tensor::empty({n}, DType::Float32);
  const float* in = wf.data<float>();
  float* sp = scales.data<float>();
  for (int64_t c = 0; c < n; ++c) {  // as quant::quantize_weights_s8 chooses them
    float amax = 0;
    for (int64_t j = 0; j < k; ++j) {
      const float v = in[c * k + j];
      AM_CHECK(std::isfinite(v), ValueError, op, ": weight [", c, ", ", j, "] is ", v,
               "; int8 weights need finite values (did training diverge?)");
      amax = std::max(amax, std::fabs(v));
    }
    sp[c] = amax > 0 ? amax / 127.0f : 1.0f;
  }
  return scales;
}

}  // namespace aimass
