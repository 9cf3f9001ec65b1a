#include "ops/convert.h"

#include "core/device_api.h"
#include "core/error.h"
#include "ops/kernels/elementwise.h"
#include "ops/shape.h"

namespace aimass {

Tensor to_dtype(const Tensor& x, DType dtype, bool copy) {
  if (x.dtype() == dtype && !copy) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  if (out.numel()) copy_kernel.on(x.device())(x, out);
  return out;
}

Tensor contiguous(const Tensor& x) { return x.is_contiguous() ? x : to_dtype(x, x.dtype(), true); }

Tensor clone(const Tensor& x) { return to_dtype(x, x.dtype(), true); }

Tensor to_device(const Tensor& x, Device device, bool copy) {
  if (x.device() == device) return copy ? clone(x) : x;
  check_device(device);
  Tensor src = contiguous(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  if (out.numel()) cuda_api().copy(out.data_ptr(), device, src.data_ptr(), src.device(), out.nbytes());
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src, const char* op) {
  Tensor s = expand(src, dst.shape(), op);
  if (dst.numel() == 0) return;
  dst.storage()->version++;
  if (s.device() != dst.device()) {
    // Cross-device: materialise src in dst's dtype on its own device, then transfer.
    Tensor moved = to_device(to_dtype(contiguous(s), dst.dtype()), dst.device());
    if (dst.is_contiguous()) {
      cuda_api().copy(dst.data_ptr(), dst.device(), moved.data_ptr(), moved.device(), dst.nbytes());
      return;
    }
    s = moved;
  }
  copy_kernel.on(dst.device())(s, dst);
}

void fill_(const Tensor& dst, Scalar value) {
  dst.storage()->version++;
  if (dst.numel()) fill_kernel.on(dst.device())(dst, value);
}

Scalar item(const Tensor& x) {
  AM_CHECK(x.numel() == 1, ValueError, "item: only a one-element tensor converts to a Python number, got ",
           x.describe());
  Tensor c = to_device(x, Device());
  return visit_dtype(c.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T v = *c.data<T>();
    if constexpr (std::is_same_v<T, bool>) return Scalar::from_bool(v);
    else if constexpr (std::is_integral_v<T>) return Scalar::from_int(int64_t(v));
    else return Scalar::from_float(double(static_cast<acc_t<T>>(v)));
  });
}

Tensor scalar_tensor(Scalar value, DType dtype, Device device) {
  Tensor t = Tensor::empty({}, dtype, device);  // filled where it lives: no host-to-device copy
  fill_kernel.on(device)(t, value);
  return t;
}

}  // namespace aimass
