// Indexing as NumPy does it: ints, slices, None, Ellipsis give views; integer tensors and
// boolean masks ("advanced" indices) gather into a new tensor.
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace aimass {

struct TensorIndex {
  enum class Kind : uint8_t { Int, Slice, None, Ellipsis, Tensor } kind = Kind::Int;
  int64_t i = 0;                              // Int
  std::optional<int64_t> start, stop, step;   // Slice
  aimass::Tensor tensor;                      // Tensor: integer indices or a bool mask

  static TensorIndex integer(int64_t v) { TensorIndex t; t.kind = Kind::Int; t.i = v; return t; }
  static TensorIndex slice(std::optional<int64_t> a, std::optional<int64_t> b, std::optional<int64_t> s) {
    TensorIndex t; t.kind = Kind::Slice; t.start = a; t.stop = b; t.step = s; return t;
  }
  static TensorIndex none() { TensorIndex t; t.kind = Kind::None; return t; }
  static TensorIndex ellipsis() { TensorIndex t; t.kind = Kind::Ellipsis; return t; }
  static TensorIndex of(aimass::Tensor x) { TensorIndex t; t.kind = Kind::Tensor; t.tensor = std::move(x); return t; }
};

// x[index]: a view when the index is basic (ints, slices with positive steps, None,
// Ellipsis); a copy otherwise (advanced indices, or a negative step).
Tensor index(const Tensor& x, const std::vector<TensorIndex>& index);
// x[index] = value, value broadcast to the shape x[index] has; with accumulate, x[index] +=
// value, where an element selected several times receives every contribution.
void index_put(const Tensor& x, const std::vector<TensorIndex>& index, const Tensor& value, bool accumulate = false);
// A tensor over external memory (NumPy, DLPack) whose element [0, ...] is at `first` and
// whose strides may be negative. The storage records the exact span the view reaches,
// starting at its lowest address, so every offset into it is non-negative. A view when every
// stride is non-negative, else a copy walking those dims backwards: kernels only ever see
// non-negative strides. `release` frees the memory when the last tensor using it goes.
Tensor from_external(void* first, Shape shape, Shape strides, DType dtype, Device device,
                     std::function<void(void*)> release);
// Indices of the true elements of a bool mask, one int64 tensor per dim, on the CPU.
std::vector<Tensor> nonzero(const Tensor& mask);

}  // namespace aimass
