#include "nn/dense.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/autocast.h"
#include "nn/layer_util.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

Dense::Dense(const DenseOptions& options) : Module("Dense"), options_(options) {
  AM_CHECK(options.units > 0, ValueError, "Dense: units must be positive, got ", options.units);
  AM_CHECK(options.in_features >= 0, ValueError, "Dense: in_features must be positive, got ", options.in_features);
  if (options.in_features > 0) {
    create_weights(options.in_features, DType::Float32, Device());
    set_built();
  }
}

void Dense::create_weights(int64_t in_features, DType dtype, Device device) {
  options_.in_features = in_features;
  register_parameter("weight", initial_value(options_.kernel_init, {options_.units, in_features}, dtype, device));
  if (options_.use_bias) register_parameter("bias", initial_value(options_.bias_init, {options_.units}, dtype, device));
}

void Dense::build(const Tensor& x) {
  AM_CHECK(x.dim() >= 1, ValueError, "Dense: expected an input of shape (..., in_features), got ", x.describe());
  AM_CHECK(x.size(-1) > 0, ValueError, "Dense: the input's last dim (features) is 0: ", x.describe());
  create_weights(x.size(-1), weight_dtype_for(x), x.device());
}

Tensor Dense::forward(const Tensor& x) {
  AM_CHECK(x.dim() >= 1 && x.size(-1) == options_.in_features, ValueError, "Dense(units=", options_.units,
           "): expected an input of shape (..., ", options_.in_features, "), got ", x.describe());
  bool fuse_relu = options_.activation == Activation::Relu;
  Tensor y = ag::linear(autocast_lower(x), autocast_lower(parameter("weight")), autocast_lower(parameter("bias")),
                        fuse_relu ? LinearActivation::Relu : LinearActivation::None);
  return fuse_relu ? y : apply_activation(options_.activation, y);
}

Tensor Dense::pre_activation(const Tensor& x) {
  AM_CHECK(built(), ValueError, "Dense(units=", options_.units, "): not built yet (call it on an input first)");
  AM_CHECK(x.dim() >= 1 && x.size(-1) == options_.in_features, ValueError, "Dense(units=", options_.units,
           "): expected an input of shape (..., ", options_.in_features, "), got ", x.describe());
  return ag::linear(autocast_lower(x), autocast_lower(parameter("weight")), autocast_lower(parameter("bias")),
                    LinearActivation::None);
}

std::string Dense::describe() const {
  return str_cat("Dense(units=", options_.units, ", in_features=", options_.in_features,
                 ", activation=", activation_name(options_.activation), ", use_bias=", options_.use_bias ? "True" : "False", ")");
}

Config Dense::config() const {
  const DenseOptions& o = options_;
  return {{"units", o.units},
          {"activation", activation_config(o.activation)},
          {"use_bias", o.use_bias},
          {"kernel_initializer", init_name(o.kernel_init)},
          {"bias_initializer", init_name(o.bias_init)},
          {"in_features", size_or_none(o.in_features)}};
}

}  // namespace aimass::nn
