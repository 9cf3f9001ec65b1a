#include "core/dlpack.h"

#include <memory>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/index.h"

namespace aimass::dlpack {

namespace {

struct ExportContext {
  Tensor tensor;  // keeps the storage alive
  Shape shape, strides;
};

DLDataType to_dl_dtype(DType t) {
  switch (t) {
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::Int8: return {kDLInt, 8, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
  }
  return {kDLFloat, 32, 1};
}

DType from_dl_dtype(DLDataType t) {
  AM_CHECK(t.lanes == 1, TypeError, "from_dlpack: vector dtypes (lanes=", t.lanes, ") are not supported");
  switch (t.code) {
    case kDLBool: if (t.bits == 8) return DType::Bool; break;
    case kDLUInt: if (t.bits == 8) return DType::UInt8; if (t.bits == 1) return DType::Bool; break;
    case kDLInt:
      if (t.bits == 8) return DType::Int8;
      if (t.bits == 32) return DType::Int32;
      if (t.bits == 64) return DType::Int64;
      break;
    case kDLFloat:
      if (t.bits == 16) return DType::Float16;
      if (t.bits == 32) return DType::Float32;
      if (t.bits == 64) return DType::Float64;
      break;
    case kDLBfloat: if (t.bits == 16) return DType::BFloat16; break;
  }
  throw TypeError(str_cat("from_dlpack: unsupported dtype (code ", int(t.code), ", ", int(t.bits), " bits)"));
}

template <typename Managed>
void fill_export(Managed* m, const Tensor& x) {
  auto* ctx = new ExportContext{x, x.shape(), x.strides()};
  m->manager_ctx = ctx;
  DLTensor& t = m->dl_tensor;
  t.data = x.storage()->data;
  t.byte_offset = uint64_t(x.offset()) * x.itemsize();
  t.device = dlpack_device(x);
  t.ndim = int32_t(x.dim());
  t.dtype = to_dl_dtype(x.dtype());
  t.shape = ctx->shape.data();
  t.strides = ctx->strides.data();
  m->deleter = [](Managed* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
}

// read_only: the producer forbids writes (DLPack 1.0's READ_ONLY flag, e.g. a NumPy memmap
// opened with mode "r"); the tensor is then a copy, as from_numpy copies a read-only array.
template <typename Managed>
Tensor import(Managed* m, bool read_only) {
  AM_CHECK(m != nullptr, ValueError, "from_dlpack: null tensor");
  const DLTensor& t = m->dl_tensor;
  DType dtype = from_dl_dtype(t.dtype);
  Device device;
  if (t.device.device_type == kDLCPU || t.device.device_type == kDLCUDAHost) device = Device(aimass::DeviceType::CPU);
  else if (t.device.device_type == kDLCUDA || t.device.device_type == kDLCUDAManaged)
    device = Device(aimass::DeviceType::CUDA, t.device.device_id);
  else throw TypeError(str_cat("from_dlpack: unsupported device type ", t.device.device_type));
  AM_CHECK(t.ndim >= 0, ValueError, "from_dlpack: negative ndim");
  Shape shape(t.shape, t.shape + t.ndim);
  Shape strides = t.strides ? Shape(t.strides, t.strides + t.ndim) : contiguous_strides(shape);
  AM_CHECK(t.byte_offset % itemsize(dtype) == 0, ValueError, "from_dlpack: byte_offset ", t.byte_offset,
           " is not a multiple of the item size");
  shape_numel(shape, "from_dlpack");  // rejects negative dims
  // The producer's deleter runs when the last tensor viewing the memory goes; if the import
  // fails it is not run, and the caller still owns the capsule.
  void* first = static_cast<char*>(t.data) + t.byte_offset;
  if (read_only) {
    Tensor copy = aimass::clone(from_external(first, shape, strides, dtype, device, [](void*) {}));
    if (m->deleter) m->deleter(m);  // only once the copy exists: on failure the caller still owns m
    return copy;
  }
  return from_external(first, shape, strides, dtype, device, [m](void*) {
    if (m->deleter) m->deleter(m);
  });
}

}  // namespace

DLDevice dlpack_device(const Tensor& x) {
  return x.device().is_cpu() ? DLDevice{kDLCPU, 0} : DLDevice{kDLCUDA, x.device().index};
}

DLManagedTensor* to_dlpack(const Tensor& x) {
  auto* m = new DLManagedTensor{};
  fill_export(m, x);
  return m;
}

DLManagedTensorVersioned* to_dlpack_versioned(const Tensor& x) {
  auto* m = new DLManagedTensorVersioned{};
  m->version = {1, 0};
  m->flags = 0;
  fill_export(m, x);
  return m;
}

Tensor from_dlpack(DLManagedTensor* managed) { return import(managed, false); }
Tensor from_dlpack(DLManagedTensorVersioned* managed) {
  AM_CHECK(managed && managed->version.major == 1, TypeError, "from_dlpack: unsupported DLPack version ",
           managed ? managed->version.major : 0);
  return import(managed, (managed->flags & kFlagReadOnly) != 0);
}

}  // namespace aimass::dlpack
