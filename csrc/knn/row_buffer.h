// Rows of one width and dtype on one device that grow by amortised doubling, so adding
// vectors a few at a time costs O(total) copies, not O(total^2).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace aimass::knn {

class RowBuffer {
 public:
  // width 0 holds scalars: view() is (n,); otherwise (n, width).
  RowBuffer(int64_t width, DType dtype, Device device);

  int64_t size() const { return n_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  // The live rows, contiguous (a view into the buffer: valid until the next change).
  Tensor view() const;
  // Appends rows ((m, width) or (m,)), converted to the buffer's dtype and device.
  void append(const Tensor& rows);
  // Replaces the contents by rows.
  void assign(const Tensor& rows);
  void clear();
  void to(Device device);

 private:
  Shape row_shape(int64_t n) const;
  int64_t width_;
  DType dtype_;
  Device device_;
  Tensor storage_;  // (capacity, width) or (capacity,)
  int64_t n_ = 0;
};

}  // namespace aimass::knn
