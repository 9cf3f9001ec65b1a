#include "nn/quantized.h"

#include <cmath>

#include "core/error.h"
#include "nn/layer_util.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "quant/weight_only.h"

namespace aimass::nn {

namespace {

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, Scalar::from_int(0), dtype); }

// A float vector buffer as the kernels take it: contiguous float32 (model.to(float16) converts
// the float buffers of every layer, these included).
Tensor float32_vector(const Tensor& t) { return t.defined() ? contiguous(to_dtype(t, DType::Float32)) : t; }

// The static activation quantisation recorded in the input_scale / input_zero_point buffers.
ActivationQuant static_quant(const Module& m, const std::string& layer) {
  // Read on the host (the buffers follow the model to its device).
  Tensor scale = float32_vector(to_device(m.buffer("input_scale"), Device()));
  Tensor zero = contiguous(to_dtype(to_device(m.buffer("input_zero_point"), Device()), DType::Int32));
  ActivationQuant aq;
  aq.dynamic = false;
  aq.scale = scale.data<float>()[0];
  aq.zero = zero.data<int32_t>()[0];
  AM_CHECK(aq.scale > 0 && std::isfinite(aq.scale), ValueError, layer,
           ": not calibrated (input_scale is ", aq.scale, "); quantise it with am.quant.quantize(model, calibration=...)");
  return aq;
}

void register_static_buffers(Module& m) {
  m.register_buffer("input_scale", zeros({1}, DType::Float32));
  m.register_buffer("input_zero_point", zeros({1}, DType::Int32));
}

// ReLU fuses into the kernels' output pass; other activations run after.
Tensor finish(Activation act, const Tensor& y) { return act == Activation::Relu ? y : apply_activation(act, y); }

}  // namespace

bool PackedInt8Cache::current(const Tensor& weight_2d) const {
  const uint64_t version = weight_2d.storage()->version.load();
  if (data_ == weight_2d.data_ptr() && version_ == version) return true;
  packed_.reset();
  cuda_.reset();
  data_ = weight_2d.data_ptr();
  version_ = version;
  return false;
}

std::shared_ptr<const quant::PackedInt8Weights> PackedInt8Cache::get(const Tensor& weight_2d) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!current(weight_2d) || !packed_) packed_ = pack_int8(weight_2d);
  return packed_;
}

std::shared_ptr<const CudaInt8Weights> PackedInt8Cache::get_cuda(const Tensor& weight_2d) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!current(weight_2d) || !cuda_) cuda_ = pack_int8_cuda(weight_2d);
  return cuda_;
}

// ---------------------------------------------------------------------------------- QuantizedDense

QuantizedDense::QuantizedDense(const QuantizedDenseOptions& options) : Module("QuantizedDense"), options_(options) {
  AM_CHECK(options.units > 0, ValueError, "QuantizedDense: units must be positive, got ", options.units);
  AM_CHECK(options.in_features > 0, ValueError, "QuantizedDense: in_features must be positive, got ",
           options.in_features);
  register_buffer("weight", zeros({options.units, options.in_features}, DType::Int8));
  register_buffer("weight_scale", full({options.units}, Scalar::from_float(1.0), DType::Float32));
  if (options.use_bias) register_buffer("bias", zeros({options.units}, DType::Float32));
  if (options.static_activations) register_static_buffers(*this);
  set_built();
}

Tensor QuantizedDense::forward(const Tensor& x) {
  const QuantizedDenseOptions& o = options_;
  AM_CHECK(x.dim() >= 1 && x.size(-1) == o.in_features, ValueError, "QuantizedDense(units=", o.units,
           "): expected an input of shape (..., ", o.in_features, "), got ", x.describe());
  ActivationQuant aq = o.static_activations ? static_quant(*this, "QuantizedDense") : ActivationQuant{};
  const Tensor w = buffer("weight");
  const Tensor ws = float32_vector(buffer("weight_scale")), b = float32_vector(buffer("bias"));
  const bool relu = o.activation == Activation::Relu;
  Tensor y = w.device().is_cuda() ? int8_linear(x, *packed_.get_cuda(w), ws, b, aq, relu)
                                  : int8_linear(x, *packed_.get(w), ws, b, aq, relu);
  return finish(o.activation, y);
}

std::string QuantizedDense::describe() const {
  const QuantizedDenseOptions& o = options_;
  return str_cat("QuantizedDense(units=", o.units, ", in_features=", o.in_features, ", activation=",
                 activation_name(o.activation), ", activations=", o.static_activations ? "static" : "dynamic", ")");
}

Config QuantizedDense::config() const {
  const QuantizedDenseOptions& o = options_;
  return {{"units", o.units},
          {"in_features", o.in_features},
          {"activation", activation_config(o.activation)},
          {"use_bias", o.use_bias},
          {"activations", o.static_activations ? "static" : "dynamic"}};
}

// --------------------------------------------------------------------------------- QuantizedConv2D

QuantizedConv2D::QuantizedConv2D(const ConvOptions& options) : Module("QuantizedConv2D"), options_(options) {
  const ConvOptions& o = options;
  AM_CHECK(o.filters > 0 && o.in_channels > 0, ValueError,
           "QuantizedConv2D: filters and in_channels must be positive, got ", o.filters, " and ", o.in_channels);
  AM_CHECK(o.groups == 1, NotImplementedError, "QuantizedConv2D: grouped convolution (groups=", o.groups,
           ") stays in float");
  for (int i = 0; i < 2; ++i)
    AM_CHECK(o.kernel[i] > 0 && o.stride[i] > 0 && o.dilation[i] > 0 && o.padding[i] >= 0, ValueError,
             "QuantizedConv2D: kernel_size, strides and dilation must be positive and padding non-negative");
  register_buffer("weight", zeros({o.filters, o.in_channels, o.kernel[0], o.kernel[1]}, DType::Int8));
  register_buffer("weight_scale", full({o.filters}, Scalar::from_float(1.0), DType::Float32));
  if (o.use_bias) register_buffer("bias", zeros({o.filters}, DType::Float32));
  register_static_buffers(*this);
  set_built();
}

Tensor QuantizedConv2D::forward(const Tensor& x) {
  const ConvOptions& o = options_;
  check_rank(x, 4, "QuantizedConv2D", "(N, C, H, W)");
  AM_CHECK(x.size(1) == o.in_channels, ValueError, "QuantizedConv2D(filters=", o.filters, "): expected an input with ",
           o.in_channels, " channels, got ", x.describe());
  Conv2dParams p;
  p.stride_h = o.stride[0];
  p.stride_w = o.stride[1];
  p.dilation_h = o.dilation[0];
  p.dilation_w = o.dilation[1];
  if (o.padding_mode == PaddingMode::Same) {
    std::tie(p.pad_top, p.pad_bottom) = same_padding(x.size(2), o.kernel[0], p.stride_h, p.dilation_h);
    std::tie(p.pad_left, p.pad_right) = same_padding(x.size(3), o.kernel[1], p.stride_w, p.dilation_w);
  } else if (o.padding_mode == PaddingMode::Explicit) {
    p.pad_top = p.pad_bottom = o.padding[0];
    p.pad_left = p.pad_right = o.padding[1];
  }
  Tensor w = buffer("weight");
  Tensor w2 = Tensor::from_storage(w.storage(), w.offset(), {o.filters, o.in_channels * o.kernel[0] * o.kernel[1]},
                                   {o.in_channels * o.kernel[0] * o.kernel[1], 1}, DType::Int8);
  AM_CHECK(w.is_contiguous(), RuntimeError, "QuantizedConv2D: the weight buffer must be contiguous");
  const Tensor ws = float32_vector(buffer("weight_scale")), b = float32_vector(buffer("bias"));
  const ActivationQuant aq = static_quant(*this, "QuantizedConv2D");
  const bool relu = o.activation == Activation::Relu;
  Tensor y = w.device().is_cuda() ? int8_conv2d(x, *packed_.get_cuda(w2), o.kernel[0], o.kernel[1], ws, b, p, aq, relu)
                                  : int8_conv2d(x, *packed_.get(w2), o.kernel[0], o.kernel[1], ws, b, p, aq, relu);
  return finish(o.activation, y);
}

std::string QuantizedConv2D::describe() const {
  const ConvOptions& o = options_;
  return str_cat("QuantizedConv2D(filters=", o.filters, ", kernel_size=(", o.kernel[0], ", ", o.kernel[1],
                 "), strides=(", o.stride[0], ", ", o.stride[1], "), in_channels=", o.in_channels, ", activation=",
                 activation_name(o.activation), ")");
}

Config QuantizedConv2D::config() const {
  const ConvOptions& o = options_;
  ConfigValue padding = o.padding_mode == PaddingMode::Same    ? ConfigValue("same")
                        : o.padding_mode == PaddingMode::Valid ? ConfigValue("valid")
                                                               : pair_value(o.padding);
  return {{"filters", o.filters},
          {"kernel_size", pair_value(o.kernel)},
          {"strides", pair_value(o.stride)},
          {"padding", padding},
          {"dilation", pair_value(o.dilation)},
          {"activation", activation_config(o.activation)},
          {"use_bias", o.use_bias},
          {"in_channels", o.in_channels}};
}

// --------------------------------------------------------------------------------- WeightOnlyDense

WeightOnlyDense::WeightOnlyDense(const WeightOnlyDenseOptions& options) : Module("WeightOnlyDense"), options_(options) {
  const WeightOnlyDenseOptions& o = options;
  AM_CHECK(o.units > 0 && o.in_features > 0, ValueError,
           "WeightOnlyDense: units and in_features must be positive, got ", o.units, " and ", o.in_features);
  quant::check_weight_only_format(o.units, o.in_features, o.group_size, o.bits);
  register_buffer("weight_q", zeros({o.units, quant::weight_only_row_bytes(o.in_features, o.group_size, o.bits)},
                                    DType::UInt8));
  register_buffer("weight_scales", zeros({o.units, quant::weight_only_groups(o.in_features, o.group_size)},
                                         DType::Float16));
  if (o.use_bias) register_buffer("bias", zeros({o.units}, DType::Float32));
  set_built();
}

Tensor WeightOnlyDense::forward(const Tensor& x) {
  const WeightOnlyDenseOptions& o = options_;
  AM_CHECK(x.dim() >= 1 && x.size(-1) == o.in_features, ValueError, "WeightOnlyDense(units=", o.units,
           "): expected an input of shape (..., ", o.in_features, "), got ", x.describe());
  Tensor scales = contiguous(to_dtype(buffer("weight_scales"), DType::Float16));
  Tensor y = weight_only_linear(x, contiguous(buffer("weight_q")), scales, o.in_features, o.group_size, o.bits,
                                float32_vector(buffer("bias")), o.activation == Activation::Relu);
  return finish(o.activation, y);
}

std::string WeightOnlyDense::describe() const {
  const WeightOnlyDenseOptions& o = options_;
  return str_cat("WeightOnlyDense(units=", o.units, ", in_features=", o.in_features, ", bits=", o.bits,
                 ", group_size=", o.group_size, ", activation=", activation_name(o.activation), ")");
}

Config WeightOnlyDense::config() const {
  const WeightOnlyDenseOptions& o = options_;
  return {{"units", o.units},
          {"in_features", o.in_features},
          {"bits", int64_t(o.bits)},
          {"group_size", o.group_size},
          {"activation", activation_config(o.activation)},
          {"use_bias", o.use_bias}};
}

// ------------------------------------------------------------------------------ QuantizedEmbedding

QuantizedEmbedding::QuantizedEmbedding(int64_t num_embeddings, int64_t embedding_dim)
    : Module("QuantizedEmbedding"), num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  AM_CHECK(num_embeddings > 0 && embedding_dim > 0, ValueError,
           "QuantizedEmbedding: num_embeddings and embedding_dim must be positive, got ", num_embeddings, " and ",
           embedding_dim);
  register_buffer("weight", zeros({num_embeddings, embedding_dim}, DType::Int8));
  register_buffer("weight_scale", full({num_embeddings}, Scalar::from_float(1.0), DType::Float32));
  set_built();
}

Tensor QuantizedEmbedding::forward(const Tensor& indices) {
  try {
    return int8_embedding(indices, contiguous(buffer("weight")), float32_vector(buffer("weight_scale")));
  } catch (const IndexError& e) {
    throw IndexError(str_cat("QuantizedEmbedding(num_embeddings=", num_embeddings_, "): ", e.what()));
  }
}

std::string QuantizedEmbedding::describe() const {
  return str_cat("QuantizedEmbedding(num_embeddings=", num_embeddings_, ", embedding_dim=", embedding_dim_, ")");
}

Config QuantizedEmbedding::config() const {
  return {{"num_embeddings", num_embeddings_}, {"embedding_dim", embedding_dim_}};
}

}  // namespace aimass::nn
