#include "data/image.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/convert.h"

namespace aimass::data {

Tensor images_to_tensor(const Tensor& images, const std::vector<double>& mean, const std::vector<double>& std) {
  AM_CHECK(images.dim() == 4, ValueError, "images_to_tensor: images must be (N, H, W, C), got ", images.describe());
  AM_CHECK(images.dtype() == DType::UInt8, TypeError, "images_to_tensor: images must be uint8, got ",
           images.describe());
  AM_CHECK(images.device().is_cpu(), ValueError, "images_to_tensor: images must be on the cpu, got ",
           images.describe());
  const int64_t N = images.shape()[0], H = images.shape()[1], W = images.shape()[2], C = images.shape()[3];
  AM_CHECK(mean.size() == std.size(), ValueError, "images_to_tensor: mean has ", mean.size(), " values but std has ",
           std.size());
  AM_CHECK(mean.empty() || mean.size() == 1 || int64_t(mean.size()) == C, ValueError, "images_to_tensor: mean and std need 1 or ",
           C, " values (one per channel), got ", mean.size());
  // y = x * scale[c] + shift[c] with scale = 1 / (255 std), shift = -mean / std.
  std::vector<float> scale(size_t(C), 1.0f / 255.0f), shift(size_t(C), 0.0f);
  for (int64_t c = 0; c < C && !mean.empty(); ++c) {
    const double m = mean[mean.size() == 1 ? 0 : size_t(c)], s = std[std.size() == 1 ? 0 : size_t(c)];
    AM_CHECK(std::isfinite(m) && std::isfinite(s) && s > 0, ValueError,
             "images_to_tensor: std must be positive and mean finite, got mean ", m, ", std ", s, " for channel ", c);
    scale[size_t(c)] = float(1.0 / (255.0 * s));
    shift[size_t(c)] = float(-m / s);
  }
  Tensor in = contiguous(images);
  Tensor out = Tensor::empty({N, C, H, W}, DType::Float32);
  const uint8_t* src = in.data<uint8_t>();
  float* dst = out.data<float>();
  const int64_t plane = H * W;
  parallel_for(0, N, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(plane * C, 1)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const uint8_t* s = src + n * plane * C + c;
        float* d = dst + (n * C + c) * plane;
        const float a = scale[size_t(c)], b = shift[size_t(c)];
        for (int64_t p = 0; p < plane; ++p) d[p] = float(s[p * C]) * a + b;
      }
  });
  return out;
}

}  // namespace aimass::data
