#include "nn/conv.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/autocast.h"
#include "nn/layer_util.h"
#include "ops/conv.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

PaddingSpec parse_padding(const PaddingArg& padding, const std::string& layer) {
  if (const std::string* name = std::get_if<std::string>(&padding)) {
    if (*name == "same") return {PaddingMode::Same, {0, 0}};
    if (*name == "valid") return {PaddingMode::Valid, {0, 0}};
    throw ValueError(str_cat(layer, ": padding must be 'same', 'valid' or ints, got '", *name, "'"));
  }
  if (const int64_t* p = std::get_if<int64_t>(&padding)) return {PaddingMode::Explicit, {*p, *p}};
  return {PaddingMode::Explicit, int_pair(std::get<std::vector<int64_t>>(padding), "padding")};
}

ConvOptions conv1d_as_conv2d(const Conv1DOptions& o) {
  ConvOptions c;
  c.filters = o.filters;
  c.in_channels = o.in_channels;
  c.kernel = {1, o.kernel};
  c.stride = {1, o.stride};
  c.dilation = {1, o.dilation};
  c.padding_mode = o.padding_mode;
  c.padding = {0, o.padding};
  c.groups = o.groups;
  c.use_bias = o.use_bias;
  c.activation = o.activation;
  c.kernel_init = o.kernel_init;
  c.bias_init = o.bias_init;
  return c;
}

Conv2D::Conv2D(const ConvOptions& options, std::string type_name) : Module(std::move(type_name)), options_(options) {
  const char* name = this->type_name().c_str();
  AM_CHECK(options.filters > 0, ValueError, name, ": filters must be positive, got ", options.filters);
  AM_CHECK(options.groups > 0 && options.filters % options.groups == 0, ValueError, name, ": filters (",
           options.filters, ") must be a positive multiple of groups (", options.groups, ")");
  for (int i = 0; i < 2; ++i) {
    AM_CHECK(options.kernel[i] > 0, ValueError, name, ": kernel_size must be positive, got ", options.kernel[i]);
    AM_CHECK(options.stride[i] > 0, ValueError, name, ": strides must be positive, got ", options.stride[i]);
    AM_CHECK(options.dilation[i] > 0, ValueError, name, ": dilation must be positive, got ", options.dilation[i]);
    AM_CHECK(options.padding[i] >= 0, ValueError, name, ": padding must be non-negative, got ", options.padding[i]);
  }
  AM_CHECK(options.in_channels >= 0, ValueError, name, ": in_channels must be positive, got ", options.in_channels);
  AM_CHECK(options.in_channels % options.groups == 0, ValueError, name, ": in_channels (", options.in_channels,
           ") must be a multiple of groups (", options.groups, ")");
  if (options.in_channels > 0 && this->type_name() == "Conv2D") create_weights(options.in_channels, DType::Float32, Device());
}

void Conv2D::create_weights(int64_t in_channels, DType dtype, Device device) {
  options_.in_channels = in_channels;
  register_parameter("weight", initial_value(options_.kernel_init, weight_shape(in_channels), dtype, device));
  if (options_.use_bias) register_parameter("bias", initial_value(options_.bias_init, {options_.filters}, dtype, device));
  set_built();
}

Shape Conv2D::weight_shape(int64_t c) const {
  return {options_.filters, c / options_.groups, options_.kernel[0], options_.kernel[1]};
}

void Conv2D::build(const Tensor& x) {
  check_rank(x, spatial_dims() + 2, type_name().c_str(), spatial_dims() == 2 ? "(N, C, H, W)" : "(N, C, L)");
  int64_t c = x.size(1);
  AM_CHECK(c > 0 && c % options_.groups == 0, ValueError, type_name(), ": the input's channels (", c,
           ") must be a positive multiple of groups (", options_.groups, "), input ", x.describe());
  create_weights(c, weight_dtype_for(x), x.device());
}

Tensor Conv2D::convolve(const Tensor& x, const Tensor& weight) {
  const char* name = type_name().c_str();
  AM_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, ValueError, name, "(filters=", options_.filters,
           "): expected an input with ", options_.in_channels, " channels, got ", x.describe());
  Conv2dParams p;
  p.stride_h = options_.stride[0];
  p.stride_w = options_.stride[1];
  p.dilation_h = options_.dilation[0];
  p.dilation_w = options_.dilation[1];
  p.groups = options_.groups;
  if (options_.padding_mode == PaddingMode::Same) {
    std::tie(p.pad_top, p.pad_bottom) = same_padding(x.size(2), options_.kernel[0], p.stride_h, p.dilation_h);
    std::tie(p.pad_left, p.pad_right) = same_padding(x.size(3), options_.kernel[1], p.stride_w, p.dilation_w);
  } else if (options_.padding_mode == PaddingMode::Explicit) {
    p.pad_top = p.pad_bottom = options_.padding[0];
    p.pad_left = p.pad_right = options_.padding[1];
  }
  for (int i = 0; i < 2; ++i) {
    int64_t in = x.size(2 + i) + (i == 0 ? p.pad_top + p.pad_bottom : p.pad_left + p.pad_right);
    int64_t span = (options_.kernel[i] - 1) * options_.dilation[i] + 1;
    AM_CHECK(span <= in, ValueError, name, ": the kernel (", options_.kernel[0], "x", options_.kernel[1],
             ", dilation ", options_.dilation[i], ") is larger than the padded input ", x.describe());
  }
  return ag::conv2d(autocast_lower(x), autocast_lower(weight), autocast_lower(parameter("bias")), p);
}

Tensor Conv2D::forward(const Tensor& x) {
  check_rank(x, 4, "Conv2D", "(N, C, H, W)");
  return apply_activation(options_.activation, convolve(x, parameter("weight")));
}

std::string Conv2D::describe() const {
  const char* pad = options_.padding_mode == PaddingMode::Same ? "'same'" : options_.padding_mode == PaddingMode::Valid ? "'valid'" : "";
  std::string padding = *pad ? pad : str_cat("(", options_.padding[0], ", ", options_.padding[1], ")");
  std::string kernel = spatial_dims() == 1 ? str_cat(options_.kernel[1]) : str_cat("(", options_.kernel[0], ", ", options_.kernel[1], ")");
  std::string stride = spatial_dims() == 1 ? str_cat(options_.stride[1]) : str_cat("(", options_.stride[0], ", ", options_.stride[1], ")");
  return str_cat(type_name(), "(filters=", options_.filters, ", kernel_size=", kernel, ", strides=", stride,
                 ", padding=", padding, ", in_channels=", options_.in_channels, ", groups=", options_.groups,
                 ", activation=", activation_name(options_.activation), ")");
}

namespace {
ConvOptions as_1d(ConvOptions o) {
  o.kernel[0] = 1;
  o.stride[0] = 1;
  o.dilation[0] = 1;
  o.padding[0] = 0;
  return o;
}
}  // namespace

Conv1D::Conv1D(const Conv1DOptions& options) : Conv1D(conv1d_as_conv2d(options)) {}

Conv1D::Conv1D(const ConvOptions& options) : Conv2D(as_1d(options), "Conv1D") {
  if (options_.in_channels > 0) create_weights(options_.in_channels, DType::Float32, Device());
}

Shape Conv1D::weight_shape(int64_t c) const { return {options_.filters, c / options_.groups, options_.kernel[1]}; }

Tensor Conv1D::forward(const Tensor& x) {
  check_rank(x, 3, "Conv1D", "(N, C, L)");
  Tensor y = convolve(ag::unsqueeze(x, 2), ag::unsqueeze(parameter("weight"), 2));  // (N, O, 1, OL)
  return apply_activation(options_.activation, ag::squeeze(y, 2));
}

// Conv1D records one int per axis (its constructor's arguments), Conv2D a pair.
Config Conv2D::config() const {
  const ConvOptions& o = options_;
  bool one_d = spatial_dims() == 1;
  auto dims = [&](const std::array<int64_t, 2>& v) { return one_d ? ConfigValue(v[1]) : pair_value(v); };
  ConfigValue padding = o.padding_mode == PaddingMode::Same    ? ConfigValue("same")
                        : o.padding_mode == PaddingMode::Valid ? ConfigValue("valid")
                                                               : dims(o.padding);
  return {{"filters", o.filters},
          {"kernel_size", dims(o.kernel)},
          {"strides", dims(o.stride)},
          {"padding", padding},
          {"dilation", dims(o.dilation)},
          {"groups", o.groups},
          {"activation", activation_config(o.activation)},
          {"use_bias", o.use_bias},
          {"kernel_initializer", init_name(o.kernel_init)},
          {"bias_initializer", init_name(o.bias_init)},
          {"in_channels", size_or_none(o.in_channels)}};
}

}  // namespace aimass::nn
