// Tensor: a strided view (shape, strides in elements, offset in elements) of a Storage.
// Copying a Tensor copies the handle, not the data; views share storage with their base.
// Layout: element (i0, i1, ...) lives at data + (offset + sum_k i_k * strides[k]) * itemsize.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/storage.h"

namespace aimass {

using Shape = std::vector<int64_t>;

namespace autograd { struct Meta; }
using AutogradMeta = autograd::Meta;  // defined in autograd/node.h

struct TensorImpl {
  Storage storage;
  int64_t offset = 0;
  Shape shape;
  Shape strides;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  std::shared_ptr<AutogradMeta> autograd;
};

Shape contiguous_strides(const Shape& shape);
int64_t shape_numel(const Shape& shape, const char* op = "tensor");  // checks non-negative, no overflow
// The elements a (shape, strides) view can reach, relative to its first element: [lo, hi]
// (lo <= 0 when a stride is negative). An empty view reaches none: {0, -1}.
std::pair<int64_t, int64_t> element_span(const Shape& shape, const Shape& strides);
// Wraps a possibly negative axis into [0, ndim); IndexError naming the op otherwise.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device());
  static Tensor from_storage(Storage storage, int64_t offset, Shape shape, Shape strides, DType dtype);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int64_t dim() const { return int64_t(impl_->shape.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const;
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device; }
  size_t itemsize() const { return aimass::itemsize(impl_->dtype); }
  size_t nbytes() const { return size_t(numel()) * itemsize(); }
  int64_t offset() const { return impl_->offset; }
  const Storage& storage() const { return impl_->storage; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  void* data_ptr() const {
    return static_cast<char*>(impl_->storage->data) + impl_->offset * int64_t(itemsize());
  }
  template <typename T>
  T* data() const { return static_cast<T*>(data_ptr()); }

  bool is_contiguous() const;
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  // A view of the same storage.
  Tensor as_strided(Shape shape, Shape strides, int64_t offset) const;
  // "float32 (2, 3) on cpu": what error messages say about an operand.
  std::string describe() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace aimass
