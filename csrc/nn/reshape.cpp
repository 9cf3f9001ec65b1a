#include "nn/reshape.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

Tensor Flatten::forward(const Tensor& x) {
  AM_CHECK(x.dim() >= 1, ValueError, "Flatten: expected an input with a batch axis, got ", x.describe());
  if (x.dim() == 1) return ag::unsqueeze(x, 1);  // (N,) -> (N, 1), as Keras
  return ag::flatten(x, start_axis_, end_axis_);
}

std::string Flatten::describe() const { return str_cat("Flatten(start_axis=", start_axis_, ", end_axis=", end_axis_, ")"); }

Reshape::Reshape(Shape target) : Module("Reshape"), target_(std::move(target)) {
  int inferred = 0;
  for (int64_t d : target_) {
    AM_CHECK(d > 0 || d == -1, ValueError, "Reshape: target_shape dims must be positive or -1, got ", target_);
    inferred += d == -1;
  }
  AM_CHECK(inferred <= 1, ValueError, "Reshape: at most one -1 in target_shape, got ", target_);
}

Tensor Reshape::forward(const Tensor& x) {
  AM_CHECK(x.dim() >= 1, ValueError, "Reshape: expected an input with a batch axis, got ", x.describe());
  Shape shape{x.size(0)};
  shape.insert(shape.end(), target_.begin(), target_.end());
  int64_t per_sample = 1, known = 1;
  for (int64_t d = 1; d < x.dim(); ++d) per_sample *= x.size(d);
  for (int64_t d : target_) known *= d == -1 ? 1 : d;
  bool fits = known > 0 && (per_sample % known == 0) &&
              (std::find(target_.begin(), target_.end(), -1) != target_.end() || known == per_sample);
  AM_CHECK(fits, ValueError, "Reshape(target_shape=", target_, "): cannot reshape an input ", x.describe(),
           " (", per_sample, " values per sample)");
  return ag::reshape(x, shape);
}

std::string Reshape::describe() const { return str_cat("Reshape(target_shape=", target_, ")"); }

Config Flatten::config() const { return {{"start_axis", start_axis_}, {"end_axis", end_axis_}}; }

Config Reshape::config() const { return {{"target_shape", shape_value(target_)}}; }

}  // namespace aimass::nn
