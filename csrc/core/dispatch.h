// The op dispatch table's machinery. Each kernel is declared once, by one AIMASS_KERNEL line in
// its family's contract header (ops/kernels/<family>.h), with its contract in the comment above:
//
//   // Softmax over the last axis. in, out: (R, C) contiguous, float32 or float64.
//   AIMASS_KERNEL(softmax, void, (const Tensor& in, const Tensor& out, bool log))
//
// That line declares, inside namespace aimass,
//   softmax_fn               the function type, void(const Tensor& in, const Tensor& out, bool log)
//   cpu::softmax             the CPU kernel (ops/cpu/<family>.cpp)
//   aimass_cuda_softmax      the extern "C" CUDA kernel (ops/cuda/<family>.cu), defined there as
//                            AIMASS_CUDA_KERNEL(softmax)(...) { ... } inside namespace aimass: a
//                            C function cannot be overloaded, so a definition whose parameters
//                            differ from the contract is a compile error (cuda/cuda_check.h)
//   softmax_kernel           the table entry, Kernel<softmax_fn>: softmax_kernel.on(device)(...)
// ops/kernels.cpp instantiates the table entries and cuda/kernel_table.cpp the CUDA library's
// list of its kernels, both by expanding the same lines; kernel_registry() enumerates them.
#pragma once
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace aimass {

// One kernel as libaimass_cuda.so lists it (cuda/kernel_table.cpp): its name, the contract it was
// compiled against and the function, whose type that contract names.
struct CudaKernelEntry {
  const char* name;
  const char* signature;
  void* fn;
};

struct KernelBase {
  const char* name;
  const char* signature;  // "void (const Tensor& in, ...)", as the AIMASS_KERNEL line spells it
  KernelBase(const char* n, const char* sig);
  KernelBase(const KernelBase&) = delete;
  KernelBase& operator=(const KernelBase&) = delete;
  // Takes the CUDA kernel of this name from the library's list; throws RuntimeError when the
  // library was compiled against another contract (a stale libaimass_cuda.so).
  virtual void bind_cuda(const CudaKernelEntry& entry) = 0;

 protected:
  ~KernelBase() = default;
};

// Every Kernel in the process, in declaration order of the contract headers.
std::vector<KernelBase*>& kernel_registry();
// The names of the registered kernels ("softmax", ...), for tests that must cover each.
std::vector<std::string> kernel_names();
// Loads the CUDA backend for `device` if needed; throws RuntimeError saying why it cannot.
void ensure_device_ready(Device device);

// The return type of a kernel's function type (AIMASS_CUDA_KERNEL spells it from the name).
template <typename Signature>
struct kernel_result;
template <typename R, typename... Args>
struct kernel_result<R(Args...)> {
  using type = R;
};

template <typename Signature>
struct Kernel;

template <typename R, typename... Args>
struct Kernel<R(Args...)> final : KernelBase {
  using Fn = R (*)(Args...);
  const Fn cpu;
  Fn cuda = nullptr;  // bound by the CUDA loader

  Kernel(const char* n, Fn cpu_fn, const char* sig) : KernelBase(n, sig), cpu(cpu_fn) {}

  Fn on(Device device) const {
    if (device.is_cpu()) return cpu;
    ensure_device_ready(device);
    AM_CHECK(cuda != nullptr, NotImplementedError, name, ": no CUDA kernel (not in libaimass_cuda.so's kernel list)");
    return cuda;
  }

  void bind_cuda(const CudaKernelEntry& entry) override {
    AM_CHECK(std::string(entry.signature) == signature, RuntimeError, "libaimass_cuda.so was built against another ",
             "contract for kernel ", name, ": ", entry.signature, " there, ", signature,
             " here; rebuild the CUDA backend");
    // The one conversion back from the list's void*: entry.fn is aimass_cuda_<name>, whose type
    // the matching signature says is this kernel's.
    cuda = reinterpret_cast<Fn>(entry.fn);
  }
};

}  // namespace aimass

// Declares one kernel (see the top of this file). Used inside namespace aimass.
#define AIMASS_KERNEL(name, ret, params)         \
  using name##_fn = ret params;                  \
  namespace cpu {                                \
  ret name params;                               \
  }                                              \
  extern "C" ret aimass_cuda_##name params;      \
  extern Kernel<name##_fn> name##_kernel;        \
  AIMASS_KERNEL_INSTANCE(name, #ret " " #params)

// What else a kernel's line expands to: nothing in most files; ops/kernels.cpp and
// cuda/kernel_table.cpp define it before any include.
#ifndef AIMASS_KERNEL_INSTANCE
#define AIMASS_KERNEL_INSTANCE(name, signature)
#endif
