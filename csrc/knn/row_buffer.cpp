#include "knn/row_buffer.h"

#include <algorithm>

#include "ops/convert.h"
#include "ops/index.h"

namespace aimass::knn {

RowBuffer::RowBuffer(int64_t width, DType dtype, Device device) : width_(width), dtype_(dtype), device_(device) {
  storage_ = Tensor::empty(row_shape(0), dtype_, device_);
}

Shape RowBuffer::row_shape(int64_t n) const { return width_ == 0 ? Shape{n} : Shape{n, width_}; }

Tensor RowBuffer::view() const {
  return index(storage_, {TensorIndex::slice(0, n_, 1)});
}

void RowBuffer::append(const Tensor& rows) {
  const int64_t m = rows.shape()[0];
  if (m == 0) return;
  const int64_t capacity = storage_.shape()[0];
  if (n_ + m > capacity) {
    Tensor grown = Tensor::empty(row_shape(std::max(n_ + m, 2 * capacity)), dtype_, device_);
    if (n_ > 0) copy_into(index(grown, {TensorIndex::slice(0, n_, 1)}), view());
    storage_ = grown;
  }
  copy_into(index(storage_, {TensorIndex::slice(n_, n_ + m, 1)}), rows);
  n_ += m;
}

void RowBuffer::assign(const Tensor& rows) {
  clear();
  append(rows);
}

void RowBuffer::clear() {
  storage_ = Tensor::empty(row_shape(0), dtype_, device_);
  n_ = 0;
}

void RowBuffer::to(Device device) {
  if (device == device_) return;
  Tensor moved = to_device(view(), device, true);
  device_ = device;
  storage_ = moved;
}

}  // namespace aimass::knn
