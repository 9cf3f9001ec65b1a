// The fully connected layer on CUDA: x (M, K), w (N, K), bias (N,) -> out (M, N) = act(x @ w^T + bias).
//   forward   float32: one cuBLASLt matmul whose epilogue adds the bias and applies the ReLU
//             (CUBLASLT_EPILOGUE_BIAS / RELU_BIAS), full float32 math (no TF32, as matmul.cu).
//             float64, or where cuBLASLt offers no algorithm: the bias broadcast into out, a
//             GEMM accumulating onto it (beta = 1), then a ReLU pass.
//   backward  grad_x = g @ w and grad_w = g^T @ x as cuBLAS GEMMs (transposes are flags), grad_bias
//             by a column-sum kernel; with ReLU, g is first masked by out > 0.
// cuBLAS is column-major: a row-major (R, C) matrix is a column-major (C, R) one, so out^T = w x^T
// reads w as the transpose of a column-major (K, N) matrix and x as a column-major (K, M) one.
#include <cublasLt.h>

#include <climits>
#include <mutex>
#include <unordered_map>

#include "cuda/cuda_check.h"
#include "ops/cuda/cublas_handle.cuh"
#include "ops/kernels/linear.h"

namespace aimass::gpu {
namespace {

constexpr int kThreads = 256;
constexpr size_t kWorkspaceBytes = size_t(32) << 20;  // cuBLASLt's recommended size on Hopper

void check_lt(cublasStatus_t status, const char* call) { check_cublas(status, "linear", call); }
#define AM_LT_CHECK(expr) check_lt((expr), #expr)

cublasLtHandle_t lt_handle(int device) {
  static std::mutex mutex;
  static std::unordered_map<int, cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  cublasLtHandle_t handle = nullptr;
  AM_LT_CHECK(cublasLtCreate(&handle));
  handles.emplace(device, handle);
  return handle;
}

int to_int(int64_t v, const char* what) {
  AM_CHECK(v <= INT_MAX, NotImplementedError, "cuda linear: ", what, " = ", v, " exceeds cuBLAS's int range");
  return int(v);
}

unsigned grid_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return unsigned(b < 4096 ? b : 4096);
}

#define GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// out (M, N) = bias in every row, or 0.
template <typename T>
__global__ void fill_rows_kernel(const T* bias, T* out, int64_t M, int64_t N) {
  GRID_STRIDE(i, M * N) out[i] = bias ? bias[i % N] : T(0);
}

template <typename T>
__global__ void relu_kernel(T* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = out[i] > T(0) || out[i] != out[i] ? out[i] : T(0);
}

template <typename T>
__global__ void relu_mask_kernel(const T* g, const T* out, T* masked, int64_t n) {
  GRID_STRIDE(i, n) masked[i] = out[i] > T(0) ? g[i] : T(0);
}

// gb (N,) = sum over the rows of g (M, N): 32 columns per block, 8 row lanes, coalesced reads.
template <typename T>
__global__ void column_sum_kernel(const T* g, int64_t M, int64_t N, T* gb) {
  __shared__ T part[8][33];
  const int64_t n = blockIdx.x * int64_t(32) + threadIdx.x;
  T acc = 0;
  if (n < N)
    for (int64_t m = threadIdx.y; m < M; m += 8) acc += g[m * N + n];
  part[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && n < N) {
    T total = 0;
    for (int r = 0; r < 8; ++r) total += part[r][threadIdx.x];
    gb[n] = total;
  }
}

template <typename T>
void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* a, int lda,
          const T* b, int ldb, T beta, T* c, int ldc) {
  const T one = 1;
  if constexpr (std::is_same_v<T, float>)
    AM_CUBLAS_CHECK(cublasSgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc), "linear");
  else
    AM_CUBLAS_CHECK(cublasDgemm(h, ta, tb, m, n, k, &one, a, lda, b, ldb, &beta, c, ldc), "linear");
}

// float32 through one cuBLASLt matmul with the epilogue. False when cuBLASLt has no algorithm.
bool lt_linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act, const Tensor& out) {
  const int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
  const int device = out.device().index;
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a_layout = nullptr, b_layout = nullptr, c_layout = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  bool found = false;
  try {
    AM_LT_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
    AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
    const bool relu = act == LinearActivation::Relu;
    const cublasLtEpilogue_t epilogue = bias.defined() ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                                       : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof(epilogue)));
    if (bias.defined()) {
      const void* bias_ptr = bias.data_ptr();
      AM_LT_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr, sizeof(bias_ptr)));
    }
    // w^T: w is a column-major (K, N); x: a column-major (K, M); out: a column-major (N, M).
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&a_layout, CUDA_R_32F, uint64_t(K), uint64_t(N), K));
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&b_layout, CUDA_R_32F, uint64_t(K), uint64_t(M), K));
    AM_LT_CHECK(cublasLtMatrixLayoutCreate(&c_layout, CUDA_R_32F, uint64_t(N), uint64_t(M), N));
    AM_LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    const size_t ws_bytes = kWorkspaceBytes;
    AM_LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_bytes,
                                                     sizeof(ws_bytes)));
    cublasLtMatmulHeuristicResult_t heuristic = {};
    int results = 0;
    cublasLtHandle_t h = lt_handle(device);
    if (cublasLtMatmulAlgoGetHeuristic(h, desc, a_layout, b_layout, c_layout, c_layout, pref, 1, &heuristic,
                                       &results) == CUBLAS_STATUS_SUCCESS &&
        results > 0) {
      Tensor workspace = Tensor::empty({int64_t(heuristic.workspaceSize)}, DType::UInt8, out.device());
      const float one = 1, zero = 0;
      AM_LT_CHECK(cublasLtMatmul(h, desc, &one, w.data_ptr(), a_layout, x.data_ptr(), b_layout, &zero, out.data_ptr(),
                                 c_layout, out.data_ptr(), c_layout, &heuristic.algo,
                                 heuristic.workspaceSize ? workspace.data_ptr() : nullptr, heuristic.workspaceSize,
                                 0));
      found = true;
    }
  } catch (...) {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (c_layout) cublasLtMatrixLayoutDestroy(c_layout);
    if (b_layout) cublasLtMatrixLayoutDestroy(b_layout);
    if (a_layout) cublasLtMatrixLayoutDestroy(a_layout);
    if (desc) cublasLtMatmulDescDestroy(desc);
    throw;
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(c_layout);
  cublasLtMatrixLayoutDestroy(b_layout);
  cublasLtMatrixLayoutDestroy(a_layout);
  cublasLtMatmulDescDestroy(desc);
  return found;
}

// The unfused path: bias rows, GEMM onto them, ReLU.
template <typename T>
void plain_linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act, const Tensor& out) {
  const int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
  const T* b = bias.defined() ? bias.data<T>() : nullptr;
  if (b || K == 0) fill_rows_kernel<T><<<grid_for(M * N), kThreads>>>(b, out.data<T>(), M, N);
  if (K > 0)
    gemm<T>(cublas_handle(out.device().index), CUBLAS_OP_T, CUBLAS_OP_N, to_int(N, "N"), to_int(M, "M"),
            to_int(K, "K"), w.data<T>(), to_int(K, "K"), x.data<T>(), to_int(K, "K"), b ? T(1) : T(0), out.data<T>(),
            to_int(N, "N"));
  if (act == LinearActivation::Relu) relu_kernel<T><<<grid_for(M * N), kThreads>>>(out.data<T>(), M * N);
}

template <typename T>
void linear_backward(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                     LinearActivation act, const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) {
  const int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
  const T* g = grad_out.data<T>();
  Tensor masked;
  if (act == LinearActivation::Relu && M * N > 0) {
    masked = Tensor::empty({M, N}, grad_out.dtype(), grad_out.device());
    relu_mask_kernel<T><<<grid_for(M * N), kThreads>>>(g, out.data<T>(), masked.data<T>(), M * N);
    g = masked.data<T>();
  }
  cublasHandle_t h = cublas_handle(x.device().index);
  if (grad_x.defined() && M * K > 0) {
    if (N > 0)  // grad_x^T (K, M) = w_cm (K, N) @ g_cm (N, M)
      gemm<T>(h, CUBLAS_OP_N, CUBLAS_OP_N, to_int(K, "K"), to_int(M, "M"), to_int(N, "N"), w.data<T>(),
              to_int(K, "K"), g, to_int(N, "N"), T(0), grad_x.data<T>(), to_int(K, "K"));
    else AM_CUDA_CHECK(cudaMemsetAsync(grad_x.data_ptr(), 0, grad_x.nbytes(), 0), "linear_backward");
  }
  if (grad_w.defined() && N * K > 0) {
    if (M > 0)  // grad_w^T (K, N) = x_cm (K, M) @ g_cm^T (M, N)
      gemm<T>(h, CUBLAS_OP_N, CUBLAS_OP_T, to_int(K, "K"), to_int(N, "N"), to_int(M, "M"), x.data<T>(),
              to_int(K, "K"), g, to_int(N, "N"), T(0), grad_w.data<T>(), to_int(K, "K"));
    else AM_CUDA_CHECK(cudaMemsetAsync(grad_w.data_ptr(), 0, grad_w.nbytes(), 0), "linear_backward");
  }
  if (grad_bias.defined() && N > 0) {
    column_sum_kernel<T><<<unsigned((N + 31) / 32), dim3(32, 8)>>>(g, M, N, grad_bias.data<T>());
  }
}

}  // namespace
}  // namespace aimass::gpu

namespace aimass {

AIMASS_CUDA_KERNEL(linear)(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act,
                           const Tensor& out) {
  if (out.numel() == 0) return;
  gpu::DeviceGuard guard(out.device().index, "linear");
  if (x.dtype() == DType::Float64) {
    gpu::plain_linear<double>(x, w, bias, act, out);
  } else if (x.shape()[1] == 0 || !gpu::lt_linear(x, w, bias, act, out)) {
    gpu::plain_linear<float>(x, w, bias, act, out);
  }
  gpu::check_launch("linear");
}

AIMASS_CUDA_KERNEL(linear_backward)(const Tensor& grad_out, const Tensor& out, const Tensor& x, const Tensor& w,
                                    LinearActivation act, const Tensor& grad_x, const Tensor& grad_w,
                                    const Tensor& grad_bias) {
  gpu::DeviceGuard guard(x.device().index, "linear_backward");
  if (x.dtype() == DType::Float64)
    gpu::linear_backward<double>(grad_out, out, x, w, act, grad_x, grad_w, grad_bias);
  else gpu::linear_backward<float>(grad_out, out, x, w, act, grad_x, grad_w, grad_bias);
  gpu::check_launch("linear_backward");
}

}  // namespace aimass
