// cuDNN for the CUDA backend: one handle per device, checked calls, and descriptors that free
// themselves. Every kernel runs on the legacy default stream, which is the handle's stream.
#pragma once
#include <cudnn.h>

#include <mutex>
#include <unordered_map>

#include "core/tensor.h"
#include "cuda/cuda_check.h"

#define AM_CUDNN_CHECK(expr, op) ::aimass::gpu::check_cudnn((expr), op, #expr)

namespace aimass::gpu {

inline void check_cudnn(cudnnStatus_t status, const char* op, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw RuntimeError(str_cat("cuda ", op, ": ", call, " failed: ", cudnnGetErrorString(status)));
}

// Created on first use and kept for the process, as the cuBLAS handles are (ops/cuda/matmul.cu).
inline cudnnHandle_t cudnn_handle(int device, const char* op) {
  static std::mutex mutex;
  static std::unordered_map<int, cudnnHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cudnnHandle_t handle = nullptr;
  AM_CUDNN_CHECK(cudnnCreate(&handle), op);
  handles.emplace(device, handle);
  return handle;
}

inline cudnnDataType_t cudnn_dtype(DType t) { return t == DType::Float64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

// A packed NCHW tensor descriptor.
struct TensorDesc {
  cudnnTensorDescriptor_t desc = nullptr;
  TensorDesc(DType t, int64_t n, int64_t c, int64_t h, int64_t w, const char* op) {
    AM_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc), op);
    AM_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, cudnn_dtype(t), int(n), int(c), int(h), int(w)),
                   op);
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(desc); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t desc = nullptr;
  FilterDesc(DType t, int64_t o, int64_t c, int64_t h, int64_t w, const char* op) {
    AM_CUDNN_CHECK(cudnnCreateFilterDescriptor(&desc), op);
    AM_CUDNN_CHECK(cudnnSetFilter4dDescriptor(desc, cudnn_dtype(t), CUDNN_TENSOR_NCHW, int(o), int(c), int(h), int(w)),
                   op);
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(desc); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t desc = nullptr;
  ConvDesc(DType t, int64_t pad_h, int64_t pad_w, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t groups,
           const char* op) {
    AM_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&desc), op);
    AM_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(desc, int(pad_h), int(pad_w), int(sh), int(sw), int(dh), int(dw),
                                                   CUDNN_CROSS_CORRELATION, cudnn_dtype(t)),
                   op);
    AM_CUDNN_CHECK(cudnnSetConvolutionGroupCount(desc, int(groups)), op);
    // Full float32 arithmetic (no TF32), as matmul keeps cuBLAS at CUBLAS_DEFAULT_MATH.
    AM_CUDNN_CHECK(cudnnSetConvolutionMathType(desc, t == DType::Float64 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), op);
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(desc); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// Device scratch from the caching allocator (a uint8 tensor that frees itself).
inline Tensor workspace(size_t bytes, Device device) {
  return Tensor::empty({int64_t(bytes)}, DType::UInt8, device);
}

}  // namespace aimass::gpu
