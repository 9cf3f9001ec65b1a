#include "ops/index.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/elementwise.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/index.h"
#include "ops/shape.h"

namespace aimass {

namespace {

// The result of applying the basic part of an index: a view, and for each advanced index
// the dim of the view it applies to. Negative-step slices are remembered as dims to flip.
struct BasicResult {
  Tensor view;
  std::vector<std::pair<int64_t, Tensor>> advanced;  // (view dim, int64 CPU indices)
  std::vector<int64_t> flipped;                      // view dims walked backwards
  // NumPy: with any array index present, integers count as array indices too; when all of
  // them stand side by side in the index, the result's index dims go where they stood,
  // otherwise first.
  bool advanced_adjacent = true;
};

int64_t count_consumed(const std::vector<TensorIndex>& index) {
  int64_t n = 0;
  for (const TensorIndex& t : index) {
    if (t.kind == TensorIndex::Kind::Int || t.kind == TensorIndex::Kind::Slice) ++n;
    else if (t.kind == TensorIndex::Kind::Tensor) n += t.tensor.dtype() == DType::Bool ? t.tensor.dim() : 1;
  }
  return n;
}

BasicResult apply_basic(const Tensor& x, const std::vector<TensorIndex>& index) {
  int64_t consumed = count_consumed(index);
  int64_t ellipses = std::count_if(index.begin(), index.end(), [](const TensorIndex& t) { return t.kind == TensorIndex::Kind::Ellipsis; });
  AM_CHECK(ellipses <= 1, IndexError, "index: an index can only have a single ellipsis ('...')");
  AM_CHECK(consumed <= x.dim(), IndexError, "index: too many indices for ", x.describe(), ": ", consumed,
           " were indexed but the tensor has ", x.dim(), " dims");
  BasicResult r;
  int64_t first = -1, last = -1, count = 0;  // positions in `index` of the int and array entries
  bool any_array = false;
  for (size_t i = 0; i < index.size(); ++i) {
    TensorIndex::Kind k = index[i].kind;
    if (k != TensorIndex::Kind::Int && k != TensorIndex::Kind::Tensor) continue;
    any_array |= k == TensorIndex::Kind::Tensor;
    if (first < 0) first = int64_t(i);
    last = int64_t(i);
    ++count;
  }
  r.advanced_adjacent = !any_array || last - first + 1 == count;
  Shape shape, strides;
  int64_t offset = x.offset(), d = 0;
  auto keep = [&](int64_t size, int64_t stride) { shape.push_back(size); strides.push_back(stride); };
  for (const TensorIndex& t : index) {
    switch (t.kind) {
      case TensorIndex::Kind::None:
        keep(1, 0);
        break;
      case TensorIndex::Kind::Ellipsis:
        for (int64_t n = x.dim() - consumed; n > 0; --n, ++d) keep(x.shape()[d], x.strides()[d]);
        break;
      case TensorIndex::Kind::Int: {
        int64_t size = x.shape()[d], i = t.i < 0 ? t.i + size : t.i;
        AM_CHECK(i >= 0 && i < size, IndexError, "index ", t.i, " is out of bounds for axis ", d, " with size ", size);
        offset += i * x.strides()[d++];
        break;
      }
      case TensorIndex::Kind::Slice: {
        int64_t size = x.shape()[d], step = t.step.value_or(1);
        AM_CHECK(step != 0, ValueError, "index: slice step cannot be zero");
        AM_CHECK(step != std::numeric_limits<int64_t>::min(), ValueError, "index: slice step -2**63 is out of range");
        // Python's slice.indices(size).
        auto clip = [&](std::optional<int64_t> v, int64_t dflt) {
          if (!v) return dflt;
          int64_t p = *v < 0 ? *v + size : *v;
          return step > 0 ? std::clamp<int64_t>(p, 0, size) : std::clamp<int64_t>(p, -1, size - 1);
        };
        int64_t start = clip(t.start, step > 0 ? 0 : size - 1), stop = clip(t.stop, step > 0 ? size : -1);
        // Written so that no step (up to +-2**63 - 1) overflows: a view of one element keeps its
        // stride, one of more has |stride * step| within the dim's span.
        int64_t n = step > 0 ? (stop > start ? 1 + (stop - start - 1) / step : 0)
                             : (start > stop ? 1 + (start - stop - 1) / -step : 0);
        if (n > 0) offset += start * x.strides()[d];
        if (step < 0) r.flipped.push_back(int64_t(shape.size()));
        keep(n, n > 1 ? x.strides()[d] * step : x.strides()[d]);
        ++d;
        break;
      }
      case TensorIndex::Kind::Tensor: {
        const Tensor& idx = t.tensor;
        if (idx.dtype() == DType::Bool) {
          int64_t k = std::max<int64_t>(idx.dim(), 1);
          for (int64_t j = 0; j < idx.dim(); ++j)
            AM_CHECK(idx.shape()[j] == x.shape()[d + j], IndexError, "index: boolean index of shape ", idx.shape(),
                     " does not match ", x.describe(), " at axis ", d + j);
          std::vector<Tensor> where = nonzero(idx.dim() ? idx : reshape(idx, {1}));
          for (int64_t j = 0; j < k; ++j) {
            r.advanced.emplace_back(int64_t(shape.size()), where[j]);
            keep(idx.dim() ? x.shape()[d] : 1, idx.dim() ? x.strides()[d] : 0);
            if (idx.dim()) ++d;
          }
        } else {
          AM_CHECK(is_integral(idx.dtype()), IndexError, "index: tensors used as indices must be integer or bool, got ",
                   idx.describe());
          r.advanced.emplace_back(int64_t(shape.size()), to_dtype(to_device(idx, Device()), DType::Int64));
          keep(x.shape()[d], x.strides()[d]);
          ++d;
        }
        break;
      }
    }
  }
  for (; d < x.dim(); ++d) keep(x.shape()[d], x.strides()[d]);
  r.view = x.as_strided(shape, strides, offset);
  return r;
}

// Turns negative strides into positive ones by walking those dims from the other end.
Tensor unflip(const Tensor& v, const std::vector<int64_t>& dims) {
  Shape strides = v.strides();
  int64_t offset = v.offset();
  for (int64_t d : dims) {
    if (v.shape()[d] > 0) offset += (v.shape()[d] - 1) * strides[d];
    strides[d] = -strides[d];
  }
  return v.as_strided(v.shape(), strides, offset);
}

// The advanced part: gather offsets (G,) over the broadcast index shape, the view with the
// indexed dims removed, and where the index dims go in the result.
struct AdvancedPlan {
  Tensor offsets;      // int64 (G,) on the view's device
  Shape index_shape;   // broadcast shape of the index tensors (G = its numel)
  Tensor rest;         // the view without the indexed dims
  int64_t insert_at;   // result dim where index_shape goes
};

AdvancedPlan plan_advanced(const Tensor& view, const std::vector<std::pair<int64_t, Tensor>>& adv, bool adjacent) {
  AdvancedPlan p;
  Shape bshape;
  for (auto& [dim, idx] : adv) bshape = broadcast_shapes(bshape, idx.shape(), "index (indexing tensors)");
  p.index_shape = bshape;
  int64_t G = shape_numel(bshape);
  Tensor offsets = Tensor::empty({G}, DType::Int64, Device());
  int64_t* off = offsets.data<int64_t>();
  std::fill(off, off + G, 0);
  for (auto& [dim, idx] : adv) {
    Tensor e = contiguous(expand(idx, bshape, "index"));
    const int64_t* v = e.data<int64_t>();
    int64_t size = view.shape()[dim], stride = view.strides()[dim];
    for (int64_t g = 0; g < G; ++g) {
      int64_t i = v[g] < 0 ? v[g] + size : v[g];
      AM_CHECK(i >= 0 && i < size, IndexError, "index ", v[g], " is out of bounds for axis ", dim, " with size ", size);
      off[g] += i * stride;
    }
  }
  p.offsets = to_device(offsets, view.device());
  Shape shape, strides;
  std::vector<bool> indexed(view.dim(), false);
  for (auto& a : adv) indexed[a.first] = true;
  for (int64_t d = 0; d < view.dim(); ++d)
    if (!indexed[d]) { shape.push_back(view.shape()[d]); strides.push_back(view.strides()[d]); }
  // Not as_strided: when an indexed dim is empty (then G = 0 and nothing is gathered), `rest`
  // names elements the empty view does not have; it only supplies the result's shape.
  p.rest = Tensor::from_storage(view.storage(), view.offset(), shape, strides, view.dtype());
  p.insert_at = adjacent ? adv[0].first : 0;
  return p;
}

// Moves dims [0, k) of x (the index dims, after G is unflattened) to position at.
std::vector<int64_t> index_dims_to(int64_t at, int64_t k, int64_t nd) {
  std::vector<int64_t> order;
  for (int64_t d = k; d < k + at; ++d) order.push_back(d);
  for (int64_t d = 0; d < k; ++d) order.push_back(d);
  for (int64_t d = k + at; d < nd; ++d) order.push_back(d);
  return order;
}

}  // namespace

std::vector<Tensor> nonzero(const Tensor& mask) {
  Tensor m = contiguous(to_device(mask, Device()));
  const bool* v = m.data<bool>();
  int64_t n = m.numel(), count = std::count(v, v + n, true);
  std::vector<Tensor> out;
  Shape strides = contiguous_strides(m.shape());
  for (int64_t j = 0; j < m.dim(); ++j) out.push_back(Tensor::empty({count}, DType::Int64));
  for (int64_t i = 0, c = 0; i < n; ++i) {
    if (!v[i]) continue;
    for (int64_t j = 0, rem = i; j < m.dim(); ++j) {
      out[j].data<int64_t>()[c] = rem / strides[j];
      rem %= strides[j];
    }
    ++c;
  }
  return out;
}

// v walked backwards along dim d, as a new tensor: kernels only ever see non-negative strides.
static Tensor reverse_dim(const Tensor& v, int64_t d) {
  int64_t n = v.shape()[d];
  Tensor rev = Tensor::empty({n}, DType::Int64);
  for (int64_t i = 0; i < n; ++i) rev.data<int64_t>()[i] = n - 1 - i;
  AdvancedPlan p = plan_advanced(v, {{d, rev}}, true);
  Shape out_shape = {n};
  out_shape.insert(out_shape.end(), p.rest.shape().begin(), p.rest.shape().end());
  Tensor out = Tensor::empty(out_shape, v.dtype(), v.device());
  if (out.numel()) gather_kernel.on(v.device())(p.rest, p.offsets, out);
  return contiguous(permute(out, index_dims_to(d, 1, out.dim())));
}

Tensor index(const Tensor& x, const std::vector<TensorIndex>& idx) {
  BasicResult r = apply_basic(x, idx);
  Tensor v = unflip(r.view, r.flipped);
  for (int64_t d : r.flipped) v = reverse_dim(v, d);
  if (r.advanced.empty()) return v;
  AdvancedPlan p = plan_advanced(v, r.advanced, r.advanced_adjacent);
  Shape out_shape = {shape_numel(p.index_shape)};
  out_shape.insert(out_shape.end(), p.rest.shape().begin(), p.rest.shape().end());
  Tensor out = Tensor::empty(out_shape, v.dtype(), v.device());
  if (out.numel()) gather_kernel.on(v.device())(p.rest, p.offsets, out);
  Shape unflat = p.index_shape;
  unflat.insert(unflat.end(), p.rest.shape().begin(), p.rest.shape().end());
  Tensor res = out.as_strided(unflat, contiguous_strides(unflat), out.offset());
  int64_t k = int64_t(p.index_shape.size());
  return p.insert_at == 0 ? res : permute(res, index_dims_to(p.insert_at, k, res.dim()));
}

Tensor from_external(void* first, Shape shape, Shape strides, DType dtype, Device device,
                     std::function<void(void*)> release) {
  auto [lo, hi] = element_span(shape, strides);
  int64_t item = int64_t(itemsize(dtype));
  void* lowest = static_cast<char*>(first) + lo * item;
  // `release` runs only once this function has succeeded: a caller whose import fails still
  // owns the memory (a DLPack capsule not consumed, say).
  auto succeeded = std::make_shared<bool>(false);
  Storage storage = wrap_external_storage(lowest, size_t(hi - lo + 1) * size_t(item), device,
                                          [succeeded, release = std::move(release)](void* p) {
                                            if (*succeeded) release(p);
                                          });
  std::vector<int64_t> negative;
  for (size_t d = 0; d < strides.size(); ++d)
    if (strides[d] < 0) negative.push_back(int64_t(d));
  Tensor base = Tensor::from_storage(std::move(storage), -lo, std::move(shape), std::move(strides), dtype);
  Tensor result = base;
  if (!negative.empty()) {
    result = unflip(base, negative);
    for (int64_t d : negative) result = reverse_dim(result, d);
  }
  *succeeded = true;
  return result;  // when result is a copy, `base` goes here and the memory is released
}

void index_put(const Tensor& x, const std::vector<TensorIndex>& idx, const Tensor& value, bool accumulate) {
  AM_CHECK(value.device() == x.device() || value.dim() == 0, RuntimeError, "index_put: value is on ",
           value.device().str(), " but the tensor is on ", x.device().str());
  BasicResult r = apply_basic(x, idx);
  Tensor v = unflip(r.view, r.flipped);
  Tensor val = value;
  if (!r.flipped.empty() && val.dim() > 0) {
    // Writing through reversed dims = writing the value reversed along them.
    Shape target = r.view.shape();
    if (r.advanced.empty()) {
      Tensor e = expand(to_device(val, x.device()), target, "index_put");
      std::vector<TensorIndex> rev(target.size(), TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt));
      for (int64_t d : r.flipped) rev[d] = TensorIndex::slice(std::nullopt, std::nullopt, -1);
      val = index(e, rev);
    } else {
      throw NotImplementedError("index_put: assignment combining a negative-step slice with integer or boolean "
                                "indices is not supported; use a positive step");
    }
  }
  if (r.advanced.empty()) {
    // Basic indices select every element at most once.
    copy_into(v, accumulate ? binary(BinaryOp::Add, v, val) : val, "index_put");
    return;
  }
  AdvancedPlan p = plan_advanced(v, r.advanced, r.advanced_adjacent);
  // The value is laid out as x[index] would be; bring its index dims first, then flatten them.
  Shape result_shape = p.rest.shape();
  int64_t k = int64_t(p.index_shape.size());
  result_shape.insert(result_shape.begin() + p.insert_at, p.index_shape.begin(), p.index_shape.end());
  Tensor e = expand(to_dtype(to_device(val, x.device()), x.dtype()), result_shape, "index_put");
  std::vector<int64_t> back(e.dim());
  for (int64_t d = 0; d < k; ++d) back[d] = p.insert_at + d;
  for (int64_t d = 0, j = k; d < e.dim(); ++d)
    if (d < p.insert_at || d >= p.insert_at + k) back[j++] = d;
  Tensor ordered = permute(e, back);
  Shape flat = {shape_numel(p.index_shape)};
  flat.insert(flat.end(), p.rest.shape().begin(), p.rest.shape().end());
  Tensor values = reshape(ordered, flat);
  x.storage()->version++;
  if (values.numel()) scatter_kernel.on(x.device())(p.rest, p.offsets, values, accumulate);
}

}  // namespace aimass
