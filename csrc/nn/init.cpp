#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"

namespace aimass::nn {

Init parse_init(const std::string& name, const std::string& layer) {
  if (name == "zeros") return Init::Zeros;
  if (name == "ones") return Init::Ones;
  if (name == "glorot_uniform" || name == "xavier_uniform") return Init::GlorotUniform;
  if (name == "glorot_normal" || name == "xavier_normal") return Init::GlorotNormal;
  if (name == "he_uniform" || name == "kaiming_uniform") return Init::HeUniform;
  if (name == "he_normal" || name == "kaiming_normal") return Init::HeNormal;
  throw ValueError(str_cat(layer, ": unknown initializer '", name,
                           "' (expected zeros, ones, glorot_uniform, glorot_normal, he_uniform or he_normal)"));
}

const char* init_name(Init init) {
  switch (init) {
    case Init::Zeros: return "zeros";
    case Init::Ones: return "ones";
    case Init::GlorotUniform: return "glorot_uniform";
    case Init::GlorotNormal: return "glorot_normal";
    case Init::HeUniform: return "he_uniform";
    case Init::HeNormal: return "he_normal";
  }
  return "?";
}

std::pair<int64_t, int64_t> fans(const Shape& s) {
  if (s.empty()) return {1, 1};
  if (s.size() == 1) return {s[0], s[0]};
  int64_t receptive = 1;
  for (size_t d = 2; d < s.size(); ++d) receptive *= s[d];
  return {s[1] * receptive, s[0] * receptive};
}

Tensor initial_value(Init init, const Shape& shape, DType dtype, Device device) {
  auto [fan_in, fan_out] = fans(shape);
  double glorot = 2.0 / double(std::max<int64_t>(fan_in + fan_out, 1));
  double he = 2.0 / double(std::max<int64_t>(fan_in, 1));
  switch (init) {
    case Init::Zeros: return full(shape, Scalar::from_int(0), dtype, device);
    case Init::Ones: return full(shape, Scalar::from_int(1), dtype, device);
    case Init::GlorotUniform: return uniform(shape, -std::sqrt(3 * glorot), std::sqrt(3 * glorot), dtype, device);
    case Init::GlorotNormal: return normal(shape, 0, std::sqrt(glorot), dtype, device);
    case Init::HeUniform: return uniform(shape, -std::sqrt(3 * he), std::sqrt(3 * he), dtype, device);
    case Init::HeNormal: return normal(shape, 0, std::sqrt(he), dtype, device);
  }
  return Tensor();
}

void initialize_(const Tensor& t, Init init) {
  autograd::GradModeGuard no_grad(false);
  copy_into(t, initial_value(init, t.shape(), t.dtype(), t.device()), "initialize");
}

}  // namespace aimass::nn
