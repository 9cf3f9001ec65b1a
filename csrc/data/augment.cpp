#include "data/augment.h"

#include "core/error.h"
#include "ops/convert.h"
#include "ops/kernels/augment.h"

namespace aimass::data {

namespace {

// The kernels read small parameter tensors as contiguous int64 / float64 on x's device.
Tensor prepared(const Tensor& t, DType dtype, Device device) {
  return contiguous(to_device(to_dtype(t, dtype), device));
}

}  // namespace

Tensor crop_flip(const Tensor& x, const Tensor& params, int64_t pad) {
  AM_CHECK(x.dim() == 4, ValueError, "crop_flip: x must be (B, C, H, W), got ", x.describe());
  const int64_t B = x.shape()[0];
  AM_CHECK(params.dim() == 2 && params.shape()[0] == B && params.shape()[1] == 3, ValueError,
           "crop_flip: params must be (B, 3) [flip, dy, dx] with B = ", B, ", got ", params.describe());
  AM_CHECK(!is_floating(params.dtype()) && params.dtype() != DType::Bool, TypeError,
           "crop_flip: params must be integers, got ", params.describe());
  AM_CHECK(pad >= 0, ValueError, "crop_flip: pad must be >= 0, got ", pad);
  Tensor p = contiguous(to_dtype(to_device(params, Device()), DType::Int64));
  const int64_t* v = p.data<int64_t>();
  for (int64_t b = 0; b < B; ++b)  // an offset outside [0, 2 pad] would read outside the plane
    AM_CHECK(v[3 * b + 1] >= 0 && v[3 * b + 1] <= 2 * pad && v[3 * b + 2] >= 0 && v[3 * b + 2] <= 2 * pad, ValueError,
             "crop_flip: sample ", b, " has offsets (", v[3 * b + 1], ", ", v[3 * b + 2], ") outside [0, ", 2 * pad,
             "] for pad ", pad);
  Tensor in = contiguous(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  crop_flip_kernel.on(x.device())(in, prepared(p, DType::Int64, x.device()), pad, out);
  return out;
}

Tensor mixup(const Tensor& x, const Tensor& partner, const Tensor& lam) {
  AM_CHECK(x.dim() >= 1, ValueError, "mixup: x must be (B, ...), got ", x.describe());
  AM_CHECK(is_floating(x.dtype()), TypeError, "mixup: x must be floating, got ", x.describe());
  const int64_t B = x.shape()[0];
  AM_CHECK(partner.dim() == 1 && partner.shape()[0] == B, ValueError, "mixup: partner must be (", B, ",), got ",
           partner.describe());
  AM_CHECK(lam.dim() == 1 && lam.shape()[0] == B, ValueError, "mixup: lam must be (", B, ",), got ", lam.describe());
  AM_CHECK(!is_floating(partner.dtype()) && partner.dtype() != DType::Bool, TypeError,
           "mixup: partner must be integers, got ", partner.describe());
  Tensor part = contiguous(to_dtype(to_device(partner, Device()), DType::Int64));
  for (int64_t b = 0; b < B; ++b)
    AM_CHECK(part.data<int64_t>()[b] >= 0 && part.data<int64_t>()[b] < B, IndexError, "mixup: partner[", b,
             "] = ", part.data<int64_t>()[b], " is outside [0, ", B, ")");
  const DType compute = x.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  Tensor in = contiguous(to_dtype(x, compute));
  Tensor out = Tensor::empty(x.shape(), compute, x.device());
  mixup_kernel.on(x.device())(in, prepared(part, DType::Int64, x.device()), prepared(lam, DType::Float64, x.device()),
                              out);
  return to_dtype(out, x.dtype());
}

}  // namespace aimass::data
