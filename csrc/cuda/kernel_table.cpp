// The CUDA library's list of its kernels, read by the core's loader (core/cuda_loader.cpp): every
// AIMASS_KERNEL line (ops/kernels/*.h) expanded into an entry naming its aimass_cuda_<name>. A
// registered kernel with no CUDA definition therefore fails this library's link.
#include <cstddef>
#include <vector>

#include "core/dispatch.h"

namespace aimass {
namespace {
std::vector<CudaKernelEntry>& cuda_kernels() {
  static std::vector<CudaKernelEntry> entries;
  return entries;
}
bool list_cuda_kernel(const CudaKernelEntry& entry) {
  cuda_kernels().push_back(entry);
  return true;
}
}  // namespace
}  // namespace aimass

#undef AIMASS_KERNEL_INSTANCE  // core/dispatch.h's empty default
#define AIMASS_KERNEL_INSTANCE(name, signature) \
  const bool name##_listed = list_cuda_kernel({#name, signature, reinterpret_cast<void*>(&aimass_cuda_##name)});
#include "cuda/cuda_check.h"
#include "ops/kernels.h"

AIMASS_CUDA_EXPORT const aimass::CudaKernelEntry* aimass_cuda_kernels(size_t* count) {
  *count = aimass::cuda_kernels().size();
  return aimass::cuda_kernels().data();
}
