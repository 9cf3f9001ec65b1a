// The kernel registry: every Kernel object (ops/kernels.cpp) adds itself when it is constructed.
#include "core/dispatch.h"

namespace aimass {

KernelBase::KernelBase(const char* n, const char* sig) : name(n), signature(sig) { kernel_registry().push_back(this); }

std::vector<KernelBase*>& kernel_registry() {
  static std::vector<KernelBase*> registry;
  return registry;
}

std::vector<std::string> kernel_names() {
  std::vector<std::string> names;
  for (const KernelBase* k : kernel_registry()) names.emplace_back(k->name);
  return names;
}

}  // namespace aimass
