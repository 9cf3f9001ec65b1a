// The op dispatch table's machinery. Each op family is one Kernel object naming its CPU
// function and the exported symbol of its CUDA function side by side (the table itself is
// csrc/ops/kernels.cpp). The CUDA symbols are resolved when libaimass_cuda.so is loaded.
#pragma once
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace aimass {

struct KernelBase {
  const char* name;
  const char* cuda_symbol;  // extern "C" function in libaimass_cuda.so
  void* cuda_fn = nullptr;  // filled by the CUDA loader
  KernelBase(const char* n, const char* sym);
  KernelBase(const KernelBase&) = delete;
  KernelBase& operator=(const KernelBase&) = delete;
};

// Every Kernel in the process, in construction order.
std::vector<KernelBase*>& kernel_registry();
// Loads the CUDA backend for `device` if needed; throws RuntimeError saying why it cannot.
void ensure_device_ready(Device device);

template <typename Fn>
struct Kernel : KernelBase {
  Fn cpu;
  Kernel(const char* n, Fn cpu_fn, const char* sym) : KernelBase(n, sym), cpu(cpu_fn) {}

  Fn on(Device device) const {
    if (device.is_cpu()) return cpu;
    ensure_device_ready(device);
    AM_CHECK(cuda_fn != nullptr, NotImplementedError, name, ": no CUDA kernel (", cuda_symbol,
             " missing from libaimass_cuda.so)");
    return reinterpret_cast<Fn>(cuda_fn);
  }
};

}  // namespace aimass
