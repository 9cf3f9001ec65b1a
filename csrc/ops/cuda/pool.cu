// Max and average pooling on CUDA: direct kernels, one thread per output (forward) or per
// input pixel (backward, gathering from the windows that cover it: deterministic, no atomics).
// Not cuDNN: its pooling has no ceil_mode, nor PyTorch's avg divisor for windows cut by the
// right/bottom edge, and its max backward does not send ties to the first element; these
// kernels follow ops/cpu/pool.cpp exactly, and pooling is memory-bound either way.
#include <algorithm>

#include "cuda/cuda_check.h"
#include "ops/kernels/pool.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535)); }

struct Geo {
  int64_t P, H, W, OH, OW, kh, kw, sh, sw, ph, pw;
  bool count_include_pad;
};

Geo geo(const Tensor& x, const Tensor& out, const Pool2dParams& p) {
  return {x.shape()[0] * x.shape()[1], x.shape()[2], x.shape()[3], out.shape()[2], out.shape()[3], p.kernel_h,
          p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w, p.count_include_pad};
}

// One axis's window of output o, clipped to [0, in); padded: the extent clipped to the padded input.
struct Span {
  int64_t lo, hi, padded;
};
__device__ Span span(int64_t o, int64_t in, int64_t k, int64_t s, int64_t pad) {
  const int64_t start = o * s - pad, end = min(start + k, in + pad);
  return {max(start, int64_t(0)), min(end, in), end - start};
}

template <typename T>
__global__ void max_forward(const T* x, T* out, int64_t* idx, Geo g) {
  const int64_t total = g.P * g.OH * g.OW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const Span sh = span(oh, g.H, g.kh, g.sh, g.ph), sw = span(ow, g.W, g.kw, g.sw, g.pw);
    const T* xp = x + pl * g.H * g.W;
    int64_t best_i = sh.lo * g.W + sw.lo;
    T best = xp[best_i];
    for (int64_t h = sh.lo; h < sh.hi && !isnan(best); ++h)
      for (int64_t w = sw.lo; w < sw.hi; ++w) {
        const T v = xp[h * g.W + w];
        if (v > best || isnan(v)) {
          best = v;
          best_i = h * g.W + w;
          if (isnan(v)) break;
        }
      }
    out[i] = best;
    idx[i] = best_i;
  }
}

// The outputs whose windows can cover input row h: oh in [first, last].
__device__ void covering(int64_t h, int64_t k, int64_t s, int64_t pad, int64_t outs, int64_t& first, int64_t& last) {
  const int64_t hp = h + pad;  // window oh covers hp when oh * s <= hp < oh * s + k
  first = hp < k ? 0 : (hp - k) / s + 1;
  last = min(hp / s, outs - 1);
}

template <typename T>
__global__ void max_backward(const T* go, const int64_t* idx, T* gx, Geo g) {
  const int64_t total = g.P * g.H * g.W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H);
    int64_t oh0, oh1, ow0, ow1;
    covering(h, g.kh, g.sh, g.ph, g.OH, oh0, oh1);
    covering(w, g.kw, g.sw, g.pw, g.OW, ow0, ow1);
    T acc = 0;
    const int64_t here = h * g.W + w, base = pl * g.OH * g.OW;
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow)
        if (idx[base + oh * g.OW + ow] == here) acc += go[base + oh * g.OW + ow];
    gx[i] = acc;
  }
}

template <typename T>
__device__ T divisor(const Span& a, const Span& b, bool count_include_pad) {
  return count_include_pad ? T(a.padded * b.padded) : T((a.hi - a.lo) * (b.hi - b.lo));
}

template <typename T>
__global__ void avg_forward(const T* x, T* out, Geo g) {
  const int64_t total = g.P * g.OH * g.OW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const Span sh = span(oh, g.H, g.kh, g.sh, g.ph), sw = span(ow, g.W, g.kw, g.sw, g.pw);
    const T* xp = x + pl * g.H * g.W;
    T s = 0;
    for (int64_t h = sh.lo; h < sh.hi; ++h)
      for (int64_t w = sw.lo; w < sw.hi; ++w) s += xp[h * g.W + w];
    out[i] = s / divisor<T>(sh, sw, g.count_include_pad);
  }
}

template <typename T>
__global__ void avg_backward(const T* go, T* gx, Geo g) {
  const int64_t total = g.P * g.H * g.W;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H);
    int64_t oh0, oh1, ow0, ow1;
    covering(h, g.kh, g.sh, g.ph, g.OH, oh0, oh1);
    covering(w, g.kw, g.sw, g.pw, g.OW, ow0, ow1);
    T acc = 0;
    for (int64_t oh = oh0; oh <= oh1; ++oh) {
      const Span sh = span(oh, g.H, g.kh, g.sh, g.ph);
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const Span sw = span(ow, g.W, g.kw, g.sw, g.pw);
        acc += go[(pl * g.OH + oh) * g.OW + ow] / divisor<T>(sh, sw, g.count_include_pad);
      }
    }
    gx[i] = acc;
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(max_pool2d)(const Tensor& x, const Pool2dParams& p, const Tensor& out, const Tensor& indices) {
  gpu::DeviceGuard guard(x.device().index, "max_pool2d");
  const gpu::Geo g = gpu::geo(x, out, p);
  const unsigned grid = gpu::grid_for(out.numel());
  if (x.dtype() == DType::Float64)
    gpu::max_forward<double><<<grid, gpu::kThreads>>>(x.data<double>(), out.data<double>(), indices.data<int64_t>(), g);
  else
    gpu::max_forward<float><<<grid, gpu::kThreads>>>(x.data<float>(), out.data<float>(), indices.data<int64_t>(), g);
  gpu::check_launch("max_pool2d");
}

AIMASS_CUDA_KERNEL(max_pool2d_backward)(const Tensor& grad_out, const Tensor& indices, const Pool2dParams& p,
                                        const Tensor& grad_x) {
  gpu::DeviceGuard guard(grad_x.device().index, "max_pool2d_backward");
  const gpu::Geo g = gpu::geo(grad_x, grad_out, p);
  const unsigned grid = gpu::grid_for(grad_x.numel());
  if (grad_x.dtype() == DType::Float64)
    gpu::max_backward<double><<<grid, gpu::kThreads>>>(grad_out.data<double>(), indices.data<int64_t>(),
                                                       grad_x.data<double>(), g);
  else
    gpu::max_backward<float><<<grid, gpu::kThreads>>>(grad_out.data<float>(), indices.data<int64_t>(),
                                                      grad_x.data<float>(), g);
  gpu::check_launch("max_pool2d_backward");
}

AIMASS_CUDA_KERNEL(avg_pool2d)(const Tensor& x, const Pool2dParams& p, const Tensor& out) {
  gpu::DeviceGuard guard(x.device().index, "avg_pool2d");
  const gpu::Geo g = gpu::geo(x, out, p);
  const unsigned grid = gpu::grid_for(out.numel());
  if (x.dtype() == DType::Float64)
    gpu::avg_forward<double><<<grid, gpu::kThreads>>>(x.data<double>(), out.data<double>(), g);
  else
    gpu::avg_forward<float><<<grid, gpu::kThreads>>>(x.data<float>(), out.data<float>(), g);
  gpu::check_launch("avg_pool2d");
}

AIMASS_CUDA_KERNEL(avg_pool2d_backward)(const Tensor& grad_out, const Pool2dParams& p, const Tensor& grad_x) {
  gpu::DeviceGuard guard(grad_x.device().index, "avg_pool2d_backward");
  const gpu::Geo g = gpu::geo(grad_x, grad_out, p);
  const unsigned grid = gpu::grid_for(grad_x.numel());
  if (grad_x.dtype() == DType::Float64)
    gpu::avg_backward<double><<<grid, gpu::kThreads>>>(grad_out.data<double>(), grad_x.data<double>(), g);
  else
    gpu::avg_backward<float><<<grid, gpu::kThreads>>>(grad_out.data<float>(), grad_x.data<float>(), g);
  gpu::check_launch("avg_pool2d_backward");
}

}  // namespace aimass
