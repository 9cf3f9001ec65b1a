// The op dispatch table: every AIMASS_KERNEL line (ops/kernels/*.h) expanded here into its
// Kernel object, the CPU kernel beside the contract the CUDA one must match.
#define AIMASS_KERNEL_INSTANCE(name, signature) Kernel<name##_fn> name##_kernel{#name, cpu::name, signature};
#include "ops/kernels.h"
