#include "nn/qat.h"

#include <algorithm>
#include <cmath>

#include "autograd/fake_quant.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/init.h"
#include "nn/layer_util.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/fake_quant.h"
#include "quant/observer.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

namespace {

void check_qat_options(const QatOptions& o, const char* layer) {
  AM_CHECK(o.momentum > 0 && o.momentum <= 1, ValueError, layer, ": momentum must be in (0, 1], got ", o.momentum);
}

void register_range_buffers(Module& m) {
  m.register_buffer("input_min", full({1}, Scalar::from_int(0), DType::Float32));
  m.register_buffer("input_max", full({1}, Scalar::from_int(0), DType::Float32));
  m.register_buffer("input_batches", full({1}, Scalar::from_int(0), DType::Int64));
}

double read_scalar(const Module& m, const char* name) {
  Tensor t = contiguous(to_dtype(m.buffer(name), DType::Float64));
  return t.data<double>()[0];
}

// Writes v into the (1,) buffer `name`, in its own dtype.
void write_scalar(Module& m, const char* name, double v) {
  Tensor b = m.buffer(name);
  if (b.dtype() == DType::Float32 && b.is_contiguous() && b.device().is_cpu()) {
    b.data<float>()[0] = float(v);
  } else if (b.dtype() == DType::Int64 && b.is_contiguous() && b.device().is_cpu()) {
    b.data<int64_t>()[0] = int64_t(v);
  } else {
    assign_data(b, to_dtype(full({1}, Scalar::from_float(v), DType::Float64), b.dtype()));
  }
}

// Training: folds the batch's [min, max] into the layer's input range.
void observe(Module& m, const Tensor& x, const QatOptions& o, const char* layer) {
  AM_CHECK(x.device().is_cpu(), NotImplementedError, layer, ": quantisation-aware training runs on the CPU for now; got ",
           x.describe());
  Tensor xf = contiguous(to_dtype(x, DType::Float32));
  const float* p = xf.data<float>();
  const int64_t n = xf.numel();
  if (n == 0) return;
  float lo = p[0], hi = p[0];
  for (int64_t i = 0; i < n; ++i) {
    AM_CHECK(std::isfinite(p[i]), ValueError, layer, ": the input holds ", p[i], " (element ", i, " of ",
             x.describe(), "); quantisation-aware training needs finite activations");
    lo = std::min(lo, p[i]);
    hi = std::max(hi, p[i]);
  }
  const double seen = read_scalar(m, "input_batches");
  double new_lo = lo, new_hi = hi;
  if (seen > 0) {
    const double old_lo = read_scalar(m, "input_min"), old_hi = read_scalar(m, "input_max");
    if (o.method == RangeMethod::MinMax) {
      new_lo = std::min<double>(old_lo, lo);
      new_hi = std::max<double>(old_hi, hi);
    } else {
      new_lo = old_lo + o.momentum * (lo - old_lo);
      new_hi = old_hi + o.momentum * (hi - old_hi);
    }
  }
  write_scalar(m, "input_min", new_lo);
  write_scalar(m, "input_max", new_hi);
  write_scalar(m, "input_batches", seen + 1);
}

// x fake-quantised on the layer's u8 grid (the range observed first when training).
Tensor fake_quant_input(Module& m, const Tensor& x, const QatOptions& o, const char* layer) {
  AM_CHECK(is_floating(x.dtype()), TypeError, layer, ": expected a floating input, got ", x.describe());
  if (m.training()) observe(m, x, o, layer);
  AM_CHECK(read_scalar(m, "input_batches") > 0, ValueError, layer,
           ": its input range was never observed; train it (fit) first, or give am.quant.prepare_qat calibration data");
  const quant::QParams q =
      quant::u8_qparams(float(read_scalar(m, "input_min")), float(read_scalar(m, "input_max")), false);
  AM_CHECK(q.scale > 0 && std::isfinite(q.scale), ValueError, layer, ": the input range gives the scale ", q.scale);
  return ag::fake_quant_per_tensor_u8(x, q.scale, q.zero);
}

// The weight fake-quantised per output channel with the scales conversion will choose.
Tensor fake_quant_weight(const Tensor& w) {
  Tensor scales;
  {
    ag::GradModeGuard no_grad(false);
    scales = weight_scales_s8(w);
  }
  return ag::fake_quant_per_channel_s8(w, scales);
}

void add_qat_config(Config& c, const QatOptions& o) {
  c.emplace_back("method", range_method_name(o.method));
  c.emplace_back("momentum", o.momentum);
}

}  // namespace

RangeMethod range_method_from_name(const std::string& name, const std::string& layer) {
  if (name == "moving_average") return RangeMethod::MovingAverage;
  if (name == "minmax") return RangeMethod::MinMax;
  throw ValueError(str_cat(layer, ": method must be 'moving_average' or 'minmax', got '", name, "'"));
}

const char* range_method_name(RangeMethod m) { return m == RangeMethod::MinMax ? "minmax" : "moving_average"; }

// ---------------------------------------------------------------------------------- FakeQuantDense

FakeQuantDense::FakeQuantDense(const FakeQuantDenseOptions& options) : Module("FakeQuantDense"), options_(options) {
  const FakeQuantDenseOptions& o = options;
  AM_CHECK(o.units > 0 && o.in_features > 0, ValueError, "FakeQuantDense: units and in_features must be positive, got ",
           o.units, " and ", o.in_features);
  check_qat_options(o.qat, "FakeQuantDense");
  register_parameter("weight", initial_value(Init::GlorotUniform, {o.units, o.in_features}, DType::Float32, Device()));
  if (o.use_bias) register_parameter("bias", initial_value(Init::Zeros, {o.units}, DType::Float32, Device()));
  register_range_buffers(*this);
  set_built();
}

Tensor FakeQuantDense::forward(const Tensor& x) {
  const FakeQuantDenseOptions& o = options_;
  AM_CHECK(x.dim() >= 1 && x.size(-1) == o.in_features, ValueError, "FakeQuantDense(units=", o.units,
           "): expected an input of shape (..., ", o.in_features, "), got ", x.describe());
  Tensor xq = fake_quant_input(*this, x, o.qat, "FakeQuantDense");
  Tensor wq = fake_quant_weight(parameter("weight"));
  const bool relu = o.activation == Activation::Relu;
  Tensor y = ag::linear(xq, wq, parameter("bias"), relu ? LinearActivation::Relu : LinearActivation::None);
  return relu ? y : apply_activation(o.activation, y);
}

std::string FakeQuantDense::describe() const {
  const FakeQuantDenseOptions& o = options_;
  return str_cat("FakeQuantDense(units=", o.units, ", in_features=", o.in_features, ", activation=",
                 activation_name(o.activation), ", method=", range_method_name(o.qat.method), ")");
}

Config FakeQuantDense::config() const {
  const FakeQuantDenseOptions& o = options_;
  Config c = {{"units", o.units},
              {"in_features", o.in_features},
              {"activation", activation_config(o.activation)},
              {"use_bias", o.use_bias}};
  add_qat_config(c, o.qat);
  return c;
}

// --------------------------------------------------------------------------------- FakeQuantConv2D

namespace {
// Conv2D creates its weights only under its own type name; this one creates them below.
ConvOptions checked_conv(const ConvOptions& o) {
  AM_CHECK(o.in_channels > 0, ValueError, "FakeQuantConv2D: in_channels must be positive, got ", o.in_channels);
  AM_CHECK(o.groups == 1, NotImplementedError, "FakeQuantConv2D: grouped convolution (groups=", o.groups,
           ") has no int8 kernel; it stays in float");
  return o;
}
}  // namespace

FakeQuantConv2D::FakeQuantConv2D(const ConvOptions& options, const QatOptions& qat)
    : Conv2D(checked_conv(options), "FakeQuantConv2D"), qat_(qat) {
  check_qat_options(qat, "FakeQuantConv2D");
  create_weights(options_.in_channels, DType::Float32, Device());
  register_range_buffers(*this);
}

Tensor FakeQuantConv2D::forward(const Tensor& x) {
  check_rank(x, 4, "FakeQuantConv2D", "(N, C, H, W)");
  AM_CHECK(x.size(1) == options_.in_channels, ValueError, "FakeQuantConv2D(filters=", options_.filters,
           "): expected an input with ", options_.in_channels, " channels, got ", x.describe());
  Tensor xq = fake_quant_input(*this, x, qat_, "FakeQuantConv2D");
  return apply_activation(options_.activation, convolve(xq, fake_quant_weight(parameter("weight"))));
}

std::string FakeQuantConv2D::describe() const {
  return Conv2D::describe().substr(0, Conv2D::describe().size() - 1) + ", method=" + range_method_name(qat_.method) + ")";
}

Config FakeQuantConv2D::config() const {
  Config c = Conv2D::config();
  add_qat_config(c, qat_);
  return c;
}

}  // namespace aimass::nn
