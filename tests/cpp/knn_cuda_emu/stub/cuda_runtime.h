// Host emulation of the CUDA runtime pieces the knn kernels use: one std::thread per CUDA
// thread, blocks run one after another, std::barrier for __syncthreads and per-warp shuffles.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __align__(n) alignas(n)
#define __launch_bounds__(...)

struct uint4 { unsigned x, y, z, w; };
struct float4 { float x, y, z, w; };
struct uint3 { unsigned x = 0, y = 0, z = 0; };
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef int cudaError_t;
enum { cudaSuccess = 0 };
enum cudaMemcpyKind { cudaMemcpyDeviceToHost = 2 };
typedef void* cudaStream_t;

inline thread_local uint3 threadIdx, blockIdx;
inline thread_local dim3 blockDim, gridDim;
struct EmuWarp {
  std::barrier<> bar{32};
  float vals[32];
};
inline thread_local std::barrier<>* emu_block_barrier = nullptr;
inline thread_local EmuWarp* emu_warp = nullptr;
inline thread_local int emu_lane = 0;
inline thread_local unsigned char* emu_dyn_smem = nullptr;
inline std::atomic<long> emu_launches{0};

inline void __syncthreads() { emu_block_barrier->arrive_and_wait(); }
inline unsigned char* emu_smem() { return emu_dyn_smem; }

inline float __shfl_xor_sync(unsigned, float v, int o) {
  const int lane = emu_lane;
  emu_warp->vals[lane] = v;
  emu_warp->bar.arrive_and_wait();
  const float r = emu_warp->vals[lane ^ o];
  emu_warp->bar.arrive_and_wait();
  return r;
}
inline int atomicExch(int* p, int v) { return std::atomic_ref<int>(*p).exchange(v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_add(v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return std::atomic_ref<unsigned long long>(*p).fetch_add(v);
}
template <typename T>
inline T emu_atomic_max(T* p, T v) {
  std::atomic_ref<T> r(*p);
  T cur = r.load();
  while (cur < v && !r.compare_exchange_weak(cur, v)) {
  }
  return cur;
}
inline unsigned atomicMax(unsigned* p, unsigned v) { return emu_atomic_max(p, v); }
inline unsigned long long atomicMax(unsigned long long* p, unsigned long long v) { return emu_atomic_max(p, v); }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline int64_t min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t max(int64_t a, int64_t b) { return a > b ? a : b; }
using std::fmaf;
using std::fmaxf;
using std::fminf;
using std::isfinite;
using std::isnan;
using std::rintf;
// Round-to-nearest float arithmetic: the host's default (the emulation is built without FMA
// contraction: -ffp-contract=off).
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __int2float_rn(int v) { return float(v); }
// The sum of the four signed byte products of a and b, plus c.
inline int __dp4a(int a, int b, int c) {
  for (int i = 0; i < 4; ++i) c += int(int8_t(unsigned(a) >> (8 * i))) * int(int8_t(unsigned(b) >> (8 * i)));
  return c;
}

// Runs fn as grid x block threads: blocks in turn, each block's threads concurrently. Thread t of
// a block is (t % x, t / x % y, t / (x * y)); warps are runs of 32 consecutive t, as on a GPU.
inline void emu_launch(dim3 grid, dim3 block, size_t smem, const std::function<void()>& fn) {
  const unsigned threads = block.x * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0) throw std::runtime_error("emu: empty launch");
  if (threads > 1024) throw std::runtime_error("emu: more than 1024 threads a block");
  if (smem > 48 * 1024) throw std::runtime_error("emu: dynamic shared memory over 48 KiB");
  if (threads % 32) throw std::runtime_error("emu: block not a multiple of 32");
  ++emu_launches;
  std::vector<unsigned char> shared(smem + 64);
  unsigned char* base = shared.data() + (16 - reinterpret_cast<uintptr_t>(shared.data()) % 16) % 16;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        std::memset(shared.data(), 0xCD, shared.size());  // garbage, as on a GPU
        std::barrier<> bar(threads);
        std::vector<EmuWarp> warps(threads / 32);
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t)
          pool.emplace_back([&, t] {
            threadIdx = {t % block.x, t / block.x % block.y, t / (block.x * block.y)};
            blockIdx = {bx, by, bz};
            blockDim = block;
            gridDim = grid;
            emu_block_barrier = &bar;
            emu_warp = &warps[t / 32];
            emu_lane = int(t % 32);
            emu_dyn_smem = base;
            fn();
          });
        for (auto& th : pool) th.join();
      }
}

inline cudaError_t cudaGetDevice(int* d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorName(cudaError_t) { return "emu"; }
inline const char* cudaGetErrorString(cudaError_t) { return "emu"; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t = 0) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
