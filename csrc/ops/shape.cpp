#include "ops/shape.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "ops/convert.h"

namespace aimass {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    AM_CHECK(da == db || da == 1 || db == 1, ValueError, op, ": shapes ", a, " and ", b,
             " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape, const char* op) {
  if (x.shape() == shape) return x;
  // Negative sizes, and views whose bytes would not fit in int64 (as NumPy refuses them: their
  // numel() * itemsize() and every copy of them would overflow).
  AM_CHECK(shape_numel(shape, op) <= std::numeric_limits<int64_t>::max() / int64_t(x.itemsize()), ValueError, op,
           ": shape ", shape, " of ", dtype_name(x.dtype()), " would span more than 2**63 bytes");
  AM_CHECK(shape.size() >= x.shape().size(), ValueError, op, ": cannot broadcast shape ", x.shape(), " to ", shape);
  size_t lead = shape.size() - x.shape().size();
  Shape strides(shape.size(), 0);
  for (size_t i = 0; i < x.shape().size(); ++i) {
    int64_t d = x.shape()[i];
    AM_CHECK(d == shape[lead + i] || d == 1, ValueError, op, ": cannot broadcast shape ", x.shape(), " to ", shape);
    strides[lead + i] = d == 1 && shape[lead + i] != 1 ? 0 : x.strides()[i];
  }
  return x.as_strided(shape, strides, x.offset());
}

namespace {

Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      AM_CHECK(infer_at < 0, ValueError, op, ": only one dimension can be -1, got ", requested);
      infer_at = int64_t(i);
    } else {
      AM_CHECK(shape[i] >= 0, ValueError, op, ": invalid shape ", requested);
      AM_CHECK(shape[i] == 0 || known <= std::numeric_limits<int64_t>::max() / shape[i], ValueError, op, ": shape ",
               requested, " has too many elements");
      known *= shape[i];
    }
  }
  if (infer_at >= 0) {
    AM_CHECK(known != 0 && numel % known == 0, ValueError, op, ": cannot reshape a tensor of ", numel,
             " elements into shape ", requested);
    shape[infer_at] = numel / known;
  } else {
    AM_CHECK(known == numel, ValueError, op, ": cannot reshape a tensor of ", numel, " elements into shape ",
             requested);
  }
  return shape;
}

// Strides for viewing x as `shape` without a copy, or empty when no view exists: walks x's
// dims in chunks that are contiguous among themselves and maps each chunk onto new dims.
bool view_strides(const Tensor& x, const Shape& shape, Shape& strides) {
  strides.assign(shape.size(), 0);
  if (x.numel() == 0 || x.dim() == 0) {
    strides = contiguous_strides(shape);
    return true;
  }
  const Shape& old_shape = x.shape();
  const Shape& old_strides = x.strides();
  int64_t view_d = int64_t(shape.size()) - 1;
  int64_t chunk_numel = 1, tensor_numel = 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (chunk_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = chunk_numel * chunk_base_stride;
        chunk_numel *= shape[view_d];
        --view_d;
      }
      if (chunk_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        chunk_numel = 1;
      }
    }
  }
  return view_d == -1;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& requested) {
  Shape shape = infer_shape(requested, x.numel(), "view");
  Shape strides;
  AM_CHECK(view_strides(x, shape, strides), ValueError, "view: cannot view ", x.describe(), " with strides ",
           x.strides(), " as shape ", shape, " without a copy; use reshape");
  return x.as_strided(shape, strides, x.offset());
}

Tensor reshape(const Tensor& x, const Shape& requested) {
  Shape shape = infer_shape(requested, x.numel(), "reshape");
  Shape strides;
  if (view_strides(x, shape, strides)) return x.as_strided(shape, strides, x.offset());
  Tensor c = contiguous(x);
  return c.as_strided(shape, contiguous_strides(shape), c.offset());
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = normalize_axis(start_axis, x.dim(), "flatten"), e = normalize_axis(end_axis, x.dim(), "flatten");
  AM_CHECK(s <= e, ValueError, "flatten: start_axis ", start_axis, " comes after end_axis ", end_axis);
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t n = 1;
  for (int64_t i = s; i <= e; ++i) n *= x.shape()[i];
  shape.push_back(n);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& axes) {
  AM_CHECK(int64_t(axes.size()) == x.dim(), ValueError, "permute: ", axes.size(), " axes given for ",
           x.describe());
  Shape shape(axes.size()), strides(axes.size());
  std::vector<bool> seen(axes.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normalize_axis(axes[i], x.dim(), "permute");
    AM_CHECK(!seen[a], ValueError, "permute: axis ", axes[i], " repeated in ", Shape(axes));
    seen[a] = true;
    shape[i] = x.shape()[a];
    strides[i] = x.strides()[a];
  }
  return x.as_strided(shape, strides, x.offset());
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = i;
  if (x.dim() == 0) return x;
  std::swap(axes[normalize_axis(axis0, x.dim(), "transpose")], axes[normalize_axis(axis1, x.dim(), "transpose")]);
  return permute(x, axes);
}

Tensor matrix_transpose(const Tensor& x) {
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = x.dim() - 1 - i;
  return permute(x, axes);
}

Tensor squeeze(const Tensor& x) {
  Shape shape, strides;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (x.shape()[i] != 1) {
      shape.push_back(x.shape()[i]);
      strides.push_back(x.strides()[i]);
    }
  return x.as_strided(shape, strides, x.offset());
}

Tensor squeeze(const Tensor& x, int64_t axis) {
  int64_t a = normalize_axis(axis, x.dim(), "squeeze");
  if (x.dim() == 0) return x;
  AM_CHECK(x.shape()[a] == 1, ValueError, "squeeze: axis ", axis, " of ", x.describe(), " has size ",
           x.shape()[a], ", not 1");
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + a);
  strides.erase(strides.begin() + a);
  return x.as_strided(shape, strides, x.offset());
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  int64_t a = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t stride = a < x.dim() ? x.strides()[a] * x.shape()[a] : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  return x.as_strided(shape, strides, x.offset());
}

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  AM_CHECK(!xs.empty(), ValueError, "concatenate: needs at least one tensor");
  const Tensor& first = xs[0];
  AM_CHECK(first.dim() > 0, ValueError, "concatenate: zero-dimensional tensors cannot be concatenated");
  int64_t a = normalize_axis(axis, first.dim(), "concatenate");
  DType dtype = first.dtype();
  Shape shape = first.shape();
  shape[a] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    AM_CHECK(x.device() == first.device(), RuntimeError, "concatenate: tensor ", i, " is on ", x.device().str(),
             " but tensor 0 is on ", first.device().str());
    AM_CHECK(x.dim() == first.dim(), ValueError, "concatenate: tensor ", i, " has shape ", x.shape(),
             " but tensor 0 has shape ", first.shape(), " (different number of dims)");
    for (int64_t d = 0; d < x.dim(); ++d)
      AM_CHECK(d == a || x.shape()[d] == first.shape()[d], ValueError, "concatenate: tensor ", i, " has shape ",
               x.shape(), " but tensor 0 has shape ", first.shape(), "; they must match except on axis ", a);
    shape[a] += x.shape()[a];
    dtype = promote_types(dtype, x.dtype());
  }
  Tensor out = Tensor::empty(shape, dtype, first.device());
  int64_t start = 0;
  for (const Tensor& x : xs) {
    Shape part = out.shape();
    part[a] = x.shape()[a];
    copy_into(out.as_strided(part, out.strides(), start * out.strides()[a]), x, "concatenate");
    start += x.shape()[a];
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  AM_CHECK(!xs.empty(), ValueError, "stack: needs at least one tensor");
  int64_t a = normalize_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < xs.size(); ++i) {
    AM_CHECK(xs[i].shape() == xs[0].shape(), ValueError, "stack: tensor ", i, " has shape ", xs[i].shape(),
             " but tensor 0 has shape ", xs[0].shape(), "; all must be equal");
    parts.push_back(unsqueeze(xs[i], a));
  }
  return concatenate(parts, a);
}

}  // namespace aimass
