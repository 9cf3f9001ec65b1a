// The DLPack exchange ABI (https://dmlc.github.io/dlpack, v1.0), declared from the spec so
// tensors move between aimass, NumPy, PyTorch, CuPy and JAX without copies. Both the legacy
// DLManagedTensor ("dltensor" capsules) and DLManagedTensorVersioned ("dltensor_versioned").
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass::dlpack {

enum DeviceType : int32_t { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLCUDAManaged = 13 };
enum TypeCode : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6 };

struct DLDevice {
  int32_t device_type;
  int32_t device_id;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; null means C-contiguous
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
constexpr uint64_t kFlagReadOnly = 1ull << 0;
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};

// Export: the capsule owns a reference to x's storage until the consumer calls deleter.
DLManagedTensor* to_dlpack(const Tensor& x);
DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& x);
// Import: takes ownership (calls the producer's deleter when the last view goes). Throws
// TypeError for a dtype or device aimass does not have; the caller keeps ownership then.
Tensor from_dlpack(DLManagedTensor* managed);
Tensor from_dlpack(DLManagedTensorVersioned* managed);
DLDevice dlpack_device(const Tensor& x);

}  // namespace aimass::dlpack
