// CPU reference and fast path in one for the data pipeline's batch augmentation:
// crop_flip moves whole pixel runs (memcpy, or a reversed copy when flipped) and zero-fills the
// padding; mixup is one fused multiply-add pass per row. Work is split over images / rows.
#include <algorithm>
#include <cstring>

#include "core/parallel.h"
#include "ops/kernels/augment.h"

namespace aimass::cpu {

namespace {

// One (H, W) plane. Output column j reads padded column (flip ? W-1-j : j) + dx, i.e. source
// column s = (flip ? W-1-j : j) + dx - pad, which is in range for one contiguous run of j.
template <typename Bits>
void crop_flip_plane(const Bits* in, Bits* out, int64_t H, int64_t W, bool flip, int64_t dy, int64_t dx, int64_t pad) {
  const int64_t shift = dx - pad;  // s = j + shift (or W - 1 - j + shift)
  // j range with 0 <= s < W: unflipped j in [-shift, W - shift); flipped j in [shift, W + shift).
  const int64_t j0 = std::clamp<int64_t>(flip ? shift : -shift, 0, W);
  const int64_t j1 = std::clamp<int64_t>(flip ? W + shift : W - shift, 0, W);
  for (int64_t i = 0; i < H; ++i) {
    Bits* o = out + i * W;
    const int64_t r = i + dy - pad;
    if (r < 0 || r >= H || j0 >= j1) {
      std::memset(o, 0, size_t(W) * sizeof(Bits));
      continue;
    }
    const Bits* row = in + r * W;
    std::memset(o, 0, size_t(j0) * sizeof(Bits));
    if (flip) {
      for (int64_t j = j0; j < j1; ++j) o[j] = row[W - 1 - j + shift];
    } else {
      std::memcpy(o + j0, row + j0 + shift, size_t(j1 - j0) * sizeof(Bits));
    }
    std::memset(o + j1, 0, size_t(W - j1) * sizeof(Bits));
  }
}

template <typename Bits>
void crop_flip_typed(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out) {
  const int64_t B = in.shape()[0], C = in.shape()[1], H = in.shape()[2], W = in.shape()[3];
  const Bits* src = in.data<Bits>();
  Bits* dst = out.data<Bits>();
  const int64_t* p = params.data<int64_t>();
  const int64_t plane = H * W;
  parallel_for(0, B * C, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(plane, 1)),
               [&](int64_t q0, int64_t q1) {
                 for (int64_t q = q0; q < q1; ++q) {
                   const int64_t* pb = p + (q / C) * 3;
                   crop_flip_plane(src + q * plane, dst + q * plane, H, W, pb[0] != 0, pb[1], pb[2], pad);
                 }
               });
}

template <typename T>
void mixup_typed(const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out) {
  const int64_t B = in.shape()[0], F = in.numel() / std::max<int64_t>(B, 1);
  const T* x = in.data<T>();
  T* y = out.data<T>();
  const int64_t* other = partner.data<int64_t>();
  const double* l = lam.data<double>();
  parallel_for(0, B, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(F, 1)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T a = T(l[b]), c = T(1.0 - l[b]);
      const T* u = x + b * F;
      const T* v = x + other[b] * F;
      T* o = y + b * F;
#pragma omp simd
      for (int64_t f = 0; f < F; ++f) o[f] = a * u[f] + c * v[f];
    }
  });
}

}  // namespace

void crop_flip(const Tensor& in, const Tensor& params, int64_t pad, const Tensor& out) {
  if (in.numel() == 0) return;
  switch (in.itemsize()) {
    case 1: crop_flip_typed<uint8_t>(in, params, pad, out); break;
    case 2: crop_flip_typed<uint16_t>(in, params, pad, out); break;
    case 4: crop_flip_typed<uint32_t>(in, params, pad, out); break;
    default: crop_flip_typed<uint64_t>(in, params, pad, out); break;
  }
}

void mixup(const Tensor& in, const Tensor& partner, const Tensor& lam, const Tensor& out) {
  if (in.numel() == 0) return;
  if (in.dtype() == DType::Float64) mixup_typed<double>(in, partner, lam, out);
  else mixup_typed<float>(in, partner, lam, out);
}

}  // namespace aimass::cpu
