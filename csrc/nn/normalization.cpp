#include "nn/normalization.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/autocast.h"
#include "nn/layer_util.h"
#include "ops/creation.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

BatchNorm::BatchNorm(std::string type_name, const BatchNormOptions& options)
    : Module(std::move(type_name)), options_(options) {
  AM_CHECK(options.num_features >= 0, ValueError, this->type_name(), ": num_features must be positive, got ", options.num_features);
  AM_CHECK(options.momentum >= 0 && options.momentum <= 1, ValueError, this->type_name(), ": momentum must be in [0, 1], got ",
           options.momentum);
  AM_CHECK(options.eps > 0, ValueError, this->type_name(), ": eps must be positive, got ", options.eps);
  if (options.num_features > 0) {
    create_state(options.num_features, DType::Float32, Device());
    set_built();
  }
}

void BatchNorm::create_state(int64_t c, DType dtype, Device device) {
  options_.num_features = c;
  if (options_.affine) {
    register_parameter("weight", full({c}, Scalar::from_int(1), dtype, device));
    register_parameter("bias", full({c}, Scalar::from_int(0), dtype, device));
  }
  if (options_.track_running_stats) {
    register_buffer("running_mean", full({c}, Scalar::from_int(0), dtype, device));
    register_buffer("running_var", full({c}, Scalar::from_int(1), dtype, device));
  }
}

void BatchNorm::check_input(const Tensor& x) const {
  if (type_name() == "BatchNorm2D") {
    check_rank(x, 4, "BatchNorm2D", "(N, C, H, W)");
  } else {
    AM_CHECK(x.dim() == 2 || x.dim() == 3, ValueError, "BatchNorm1D: expected a 2-D (N, C) or 3-D (N, C, L) input, got ",
             x.describe());
  }
}

void BatchNorm::build(const Tensor& x) {
  check_input(x);
  create_state(x.size(1), weight_dtype_for(x), x.device());
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input(x);
  AM_CHECK(x.size(1) == options_.num_features, ValueError, type_name(), "(num_features=", options_.num_features,
           "): expected ", options_.num_features, " channels, got ", x.describe());
  return ag::batch_norm(autocast_widen(x), buffer("running_mean"), buffer("running_var"), parameter("weight"), parameter("bias"),
                        training() || !options_.track_running_stats, options_.momentum, options_.eps);
}

std::string BatchNorm::describe() const {
  return str_cat(type_name(), "(num_features=", options_.num_features, ", momentum=", options_.momentum,
                 ", eps=", options_.eps, ", affine=", options_.affine ? "True" : "False", ")");
}

LayerNorm::LayerNorm(const LayerNormOptions& options) : Module("LayerNorm"), options_(options) {
  AM_CHECK(options.eps > 0, ValueError, "LayerNorm: eps must be positive, got ", options.eps);
  for (int64_t d : options.normalized_shape)
    AM_CHECK(d > 0, ValueError, "LayerNorm: normalized_shape must be positive, got ", options.normalized_shape);
  if (!options.normalized_shape.empty()) {
    create_weights(DType::Float32, Device());
    set_built();
  }
}

void LayerNorm::create_weights(DType dtype, Device device) {
  if (!options_.elementwise_affine) return;
  register_parameter("weight", full(options_.normalized_shape, Scalar::from_int(1), dtype, device));
  register_parameter("bias", full(options_.normalized_shape, Scalar::from_int(0), dtype, device));
}

void LayerNorm::build(const Tensor& x) {
  AM_CHECK(x.dim() >= 1 && x.size(-1) > 0, ValueError, "LayerNorm: expected an input of shape (..., features), got ",
           x.describe());
  options_.normalized_shape = {x.size(-1)};
  create_weights(weight_dtype_for(x), x.device());
}

Tensor LayerNorm::forward(const Tensor& x) {
  const Shape& ns = options_.normalized_shape;
  int64_t k = int64_t(ns.size());
  bool fits = x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == ns;
  AM_CHECK(fits, ValueError, "LayerNorm(normalized_shape=", ns, "): expected an input whose trailing shape is ", ns,
           ", got ", x.describe());
  return ag::layer_norm(autocast_widen(x), k, parameter("weight"), parameter("bias"), options_.eps);
}

std::string LayerNorm::describe() const {
  return str_cat("LayerNorm(normalized_shape=", options_.normalized_shape, ", eps=", options_.eps,
                 ", elementwise_affine=", options_.elementwise_affine ? "True" : "False", ")");
}

Config BatchNorm::config() const {
  const BatchNormOptions& o = options_;
  return {{"num_features", size_or_none(o.num_features)},
          {"momentum", o.momentum},
          {"eps", o.eps},
          {"affine", o.affine},
          {"track_running_stats", o.track_running_stats}};
}

Config LayerNorm::config() const {
  const LayerNormOptions& o = options_;
  return {{"normalized_shape", o.normalized_shape.empty() ? ConfigValue() : shape_value(o.normalized_shape)},
          {"eps", o.eps},
          {"elementwise_affine", o.elementwise_affine}};
}

}  // namespace aimass::nn
