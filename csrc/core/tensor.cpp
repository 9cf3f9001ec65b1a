#include "core/tensor.h"

#include <limits>

#include "core/device_api.h"
#include "core/error.h"

namespace aimass {

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t shape_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t d : shape) {
    AM_CHECK(d >= 0, ValueError, op, ": negative dimension in shape ", shape);
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      throw ValueError(str_cat(op, ": shape ", shape, " has too many elements"));
    n *= d;
  }
  return n;
}

std::pair<int64_t, int64_t> element_span(const Shape& shape, const Shape& strides) {
  int64_t lo = 0, hi = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return {0, -1};
    int64_t step;
    int64_t& end = strides[d] < 0 ? lo : hi;
    if (__builtin_mul_overflow(shape[d] - 1, strides[d], &step) || __builtin_add_overflow(end, step, &end))
      throw ValueError(str_cat("shape ", shape, " with strides ", strides, " spans more than 2**63 elements"));
  }
  return {lo, hi};
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  int64_t lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;
  AM_CHECK(axis >= lo && axis <= hi, IndexError, op, ": axis ", axis, " is out of range for a tensor with ",
           ndim, " dims (expected ", lo, " to ", hi, ")");
  return axis < 0 ? axis + std::max<int64_t>(ndim, 1) : axis;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  int64_t n = shape_numel(shape, "empty");
  // Byte counts must fit in int64 (the byte strides of DLPack / NumPy views are int64).
  AM_CHECK(n <= std::numeric_limits<int64_t>::max() / int64_t(aimass::itemsize(dtype)), ValueError, "empty: shape ",
           shape, " of ", dtype_name(dtype), " needs more than 2**63 bytes");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = allocate_storage(size_t(n) * aimass::itemsize(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_storage(Storage storage, int64_t offset, Shape shape, Shape strides, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t axis) const { return shape()[normalize_axis(axis, dim(), "size")]; }

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : impl_->shape) n *= d;
  return n;
}

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    int64_t d = shape()[i];
    if (d == 0) return true;
    if (d != 1 && strides()[i] != expected) return false;
    expected *= d;
  }
  return true;
}

Tensor Tensor::as_strided(Shape shape, Shape strides, int64_t offset) const {
  // A view stays inside its storage: every size and stride computation that overflowed or ran
  // past the end upstream stops here, before any kernel reads through it.
  AM_CHECK(shape.size() == strides.size(), ValueError, "as_strided: shape ", shape, " and strides ", strides,
           " differ in length");
  AM_CHECK(shape_numel(shape, "as_strided") <= std::numeric_limits<int64_t>::max() / int64_t(itemsize()), ValueError,
           "as_strided: shape ", shape, " of ", dtype_name(dtype()), " would span more than 2**63 bytes");
  auto [lo, hi] = element_span(shape, strides);
  if (lo <= hi) {
    int64_t first, last;
    bool overflow = __builtin_add_overflow(offset, lo, &first) || __builtin_add_overflow(offset, hi, &last);
    AM_CHECK(!overflow && first >= 0 && uint64_t(last) < impl_->storage->nbytes / itemsize(), IndexError,
             "as_strided: a view of shape ", shape, ", strides ", strides, " at offset ", offset,
             " reaches outside its storage of ", impl_->storage->nbytes / itemsize(), " elements");
  }
  return from_storage(impl_->storage, offset, std::move(shape), std::move(strides), impl_->dtype);
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return str_cat(dtype_name(dtype()), " ", shape(), " on ", device().str());
}

}  // namespace aimass
