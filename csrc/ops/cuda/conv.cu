// Convolution on CUDA through cuDNN: cudnnConvolutionForward / BackwardData / BackwardFilter /
// BackwardBias, algorithms from the _v7 heuristics (the first that runs within its workspace),
// workspace from the caching allocator. cuDNN pads symmetrically, so asymmetric padding is the
// symmetric part passed to cuDNN plus the excess written out explicitly: x is copied into a
// zeroed larger buffer, and grad_x is cropped back out of one.
#include <algorithm>
#include <vector>

#include "ops/cuda/cudnn_util.cuh"
#include "ops/kernels/conv.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;

// dst plane (DH, DW) <-> src plane (SH, SW) at offset (top, left): pad copies src into dst's
// interior (dst pre-zeroed), crop (pad = false) copies dst's interior back into src.
template <typename T>
__global__ void pad_crop_kernel(T* big, T* small, int64_t planes, int64_t BH, int64_t BW, int64_t SH, int64_t SW,
                                int64_t top, int64_t left, bool pad) {
  const int64_t total = planes * SH * SW;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % SW, h = (i / SW) % SH, pl = i / (SW * SH);
    T* b = big + (pl * BH + h + top) * BW + w + left;
    if (pad) *b = small[i];
    else small[i] = *b;
  }
}

unsigned grid_for(int64_t n) { return unsigned(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535)); }

// The convolution as cuDNN sees it: x possibly explicitly padded, symmetric padding left over.
struct Setup {
  Conv2dParams p;
  int64_t N, C, H, W, O, Cg, KH, KW, OH, OW;
  int64_t extra_top, extra_bottom, extra_left, extra_right;  // padding done by hand
  int64_t XH, XW;                                            // x as cuDNN sees it
  bool explicit_pad;
};

Setup setup(const Tensor& x, const Tensor& w, const Tensor& out, const Conv2dParams& p) {
  Setup s;
  s.p = p;
  s.N = x.shape()[0], s.C = x.shape()[1], s.H = x.shape()[2], s.W = x.shape()[3];
  s.O = w.shape()[0], s.Cg = w.shape()[1], s.KH = w.shape()[2], s.KW = w.shape()[3];
  s.OH = out.shape()[2], s.OW = out.shape()[3];
  const int64_t ph = std::min(p.pad_top, p.pad_bottom), pw = std::min(p.pad_left, p.pad_right);
  s.extra_top = p.pad_top - ph, s.extra_bottom = p.pad_bottom - ph;
  s.extra_left = p.pad_left - pw, s.extra_right = p.pad_right - pw;
  s.explicit_pad = s.extra_top || s.extra_bottom || s.extra_left || s.extra_right;
  s.XH = s.H + s.extra_top + s.extra_bottom, s.XW = s.W + s.extra_left + s.extra_right;
  s.p.pad_top = s.p.pad_bottom = ph;
  s.p.pad_left = s.p.pad_right = pw;
  return s;
}

void pad_or_crop(const Setup& s, const Tensor& big, const Tensor& small, bool pad, const char* op) {
  const int64_t planes = s.N * s.C, n = planes * s.H * s.W;
  if (big.dtype() == DType::Float64)
    pad_crop_kernel<double><<<grid_for(n), kThreads>>>(big.data<double>(), small.data<double>(), planes, s.XH, s.XW,
                                                       s.H, s.W, s.extra_top, s.extra_left, pad);
  else
    pad_crop_kernel<float><<<grid_for(n), kThreads>>>(big.data<float>(), small.data<float>(), planes, s.XH, s.XW, s.H,
                                                      s.W, s.extra_top, s.extra_left, pad);
  check_launch(op);
}

// x, explicitly padded when the padding is asymmetric.
Tensor padded_input(const Setup& s, const Tensor& x, const char* op) {
  if (!s.explicit_pad) return x;
  Tensor big = Tensor::empty({s.N, s.C, s.XH, s.XW}, x.dtype(), x.device());
  AM_CUDA_CHECK(cudaMemsetAsync(big.data_ptr(), 0, big.nbytes()), op);
  pad_or_crop(s, big, x, true, op);
  return big;
}

struct Descs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  Descs(const Setup& s, DType t, const char* op)
      : x(t, s.N, s.C, s.XH, s.XW, op),
        y(t, s.N, s.O, s.OH, s.OW, op),
        w(t, s.O, s.Cg, s.KH, s.KW, op),
        conv(t, s.p.pad_top, s.p.pad_left, s.p.stride_h, s.p.stride_w, s.p.dilation_h, s.p.dilation_w, s.p.groups, op) {}
};

// The first heuristic choice that cuDNN accepts: perf results come best first.
template <typename Perf, typename Algo>
std::vector<Algo> candidates(const Perf* perf, int count) {
  std::vector<Algo> out;
  for (int i = 0; i < count; ++i)
    if (perf[i].status == CUDNN_STATUS_SUCCESS) out.push_back(perf[i].algo);
  return out;
}

template <typename T>
struct Scale {
  T one = 1, zero = 0;
};

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(conv2d)(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                           const Tensor& out) {
  using namespace aimass::gpu;
  const char* op = "conv2d";
  DeviceGuard guard(x.device().index, op);
  cudnnHandle_t h = cudnn_handle(x.device().index, op);
  const Setup s = setup(x, w, out, p);
  Tensor xin = padded_input(s, x, op);
  Descs d(s, x.dtype(), op);
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  AM_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.desc, d.w.desc, d.conv.desc, d.y.desc,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf), op);
  Scale<double> sd;
  Scale<float> sf;
  const void* one = x.dtype() == DType::Float64 ? static_cast<const void*>(&sd.one) : &sf.one;
  const void* zero = x.dtype() == DType::Float64 ? static_cast<const void*>(&sd.zero) : &sf.zero;
  cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
  for (auto algo : candidates<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(perf, count)) {
    size_t bytes = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(h, d.x.desc, d.w.desc, d.conv.desc, d.y.desc, algo, &bytes) !=
        CUDNN_STATUS_SUCCESS)
      continue;
    Tensor ws = workspace(bytes, x.device());
    status = cudnnConvolutionForward(h, one, d.x.desc, xin.data_ptr(), d.w.desc, w.data_ptr(), d.conv.desc, algo,
                                     bytes ? ws.data_ptr() : nullptr, bytes, zero, d.y.desc, out.data_ptr());
    if (status == CUDNN_STATUS_SUCCESS) break;
  }
  check_cudnn(status, op, "cudnnConvolutionForward");
  if (bias.defined()) {
    TensorDesc b(x.dtype(), 1, s.O, 1, 1, op);
    AM_CUDNN_CHECK(cudnnAddTensor(h, one, b.desc, bias.data_ptr(), one, d.y.desc, out.data_ptr()), op);
  }
}

AIMASS_CUDA_KERNEL(conv2d_backward)(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dParams& p,
                                    const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) {
  using namespace aimass::gpu;
  const char* op = "conv2d_backward";
  DeviceGuard guard(x.device().index, op);
  cudnnHandle_t h = cudnn_handle(x.device().index, op);
  const Setup s = setup(x, w, grad_out, p);
  Descs d(s, x.dtype(), op);
  Scale<double> sd;
  Scale<float> sf;
  const void* one = x.dtype() == DType::Float64 ? static_cast<const void*>(&sd.one) : &sf.one;
  const void* zero = x.dtype() == DType::Float64 ? static_cast<const void*>(&sd.zero) : &sf.zero;
  if (grad_x.defined()) {
    Tensor gx = s.explicit_pad ? Tensor::empty({s.N, s.C, s.XH, s.XW}, x.dtype(), x.device()) : grad_x;
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int count = 0;
    AM_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w.desc, d.y.desc, d.conv.desc, d.x.desc,
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf), op);
    cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
    for (auto algo : candidates<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(perf, count)) {
      size_t bytes = 0;
      if (cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.desc, d.y.desc, d.conv.desc, d.x.desc, algo, &bytes) !=
          CUDNN_STATUS_SUCCESS)
        continue;
      Tensor ws = workspace(bytes, x.device());
      status = cudnnConvolutionBackwardData(h, one, d.w.desc, w.data_ptr(), d.y.desc, grad_out.data_ptr(),
                                            d.conv.desc, algo, bytes ? ws.data_ptr() : nullptr, bytes, zero, d.x.desc,
                                            gx.data_ptr());
      if (status == CUDNN_STATUS_SUCCESS) break;
    }
    check_cudnn(status, op, "cudnnConvolutionBackwardData");
    if (s.explicit_pad) pad_or_crop(s, gx, grad_x, false, op);
  }
  if (grad_w.defined()) {
    Tensor xin = padded_input(s, x, op);
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int count = 0;
    AM_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.desc, d.y.desc, d.conv.desc, d.w.desc,
                                                                 CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf),
                   op);
    cudnnStatus_t status = CUDNN_STATUS_NOT_SUPPORTED;
    for (auto algo : candidates<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(perf, count)) {
      size_t bytes = 0;
      if (cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.desc, d.y.desc, d.conv.desc, d.w.desc, algo, &bytes) !=
          CUDNN_STATUS_SUCCESS)
        continue;
      Tensor ws = workspace(bytes, x.device());
      status = cudnnConvolutionBackwardFilter(h, one, d.x.desc, xin.data_ptr(), d.y.desc, grad_out.data_ptr(),
                                              d.conv.desc, algo, bytes ? ws.data_ptr() : nullptr, bytes, zero,
                                              d.w.desc, grad_w.data_ptr());
      if (status == CUDNN_STATUS_SUCCESS) break;
    }
    check_cudnn(status, op, "cudnnConvolutionBackwardFilter");
  }
  if (grad_bias.defined()) {
    TensorDesc b(x.dtype(), 1, s.O, 1, 1, op);
    AM_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, one, d.y.desc, grad_out.data_ptr(), zero, b.desc,
                                                grad_bias.data_ptr()), op);
  }
}

}  // namespace aimass
