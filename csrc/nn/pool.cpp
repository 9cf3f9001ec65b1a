#include "nn/pool.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/layer_util.h"
#include "ops/pool.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

Pool2D::Pool2D(std::string type_name, const PoolOptions& options)
    : Module(std::move(type_name)), options_(options), max_(this->type_name() == "MaxPool2D") {
  for (int i = 0; i < 2; ++i) {
    if (options_.stride[i] == 0) options_.stride[i] = options_.kernel[i];
    AM_CHECK(options_.kernel[i] > 0, ValueError, this->type_name(), ": pool_size must be positive, got ", options_.kernel[i]);
    AM_CHECK(options_.stride[i] > 0, ValueError, this->type_name(), ": strides must be positive, got ", options_.stride[i]);
    AM_CHECK(options_.padding[i] >= 0 && 2 * options_.padding[i] <= options_.kernel[i], ValueError, this->type_name(),
             ": padding must be between 0 and half the pool size, got ", options_.padding[i], " for a pool of ",
             options_.kernel[i]);
  }
}

Tensor Pool2D::forward(const Tensor& x) {
  check_rank(x, 4, type_name().c_str(), "(N, C, H, W)");
  for (int i = 0; i < 2; ++i)
    AM_CHECK(x.size(2 + i) + 2 * options_.padding[i] >= options_.kernel[i], ValueError, type_name(), ": the pool (",
             options_.kernel[0], "x", options_.kernel[1], ") is larger than the padded input ", x.describe());
  Pool2dParams p{options_.kernel[0], options_.kernel[1], options_.stride[0], options_.stride[1]};
  p.pad_h = options_.padding[0];
  p.pad_w = options_.padding[1];
  p.ceil_mode = options_.ceil_mode;
  p.count_include_pad = options_.count_include_pad;
  return max_ ? ag::max_pool2d(x, p) : ag::avg_pool2d(x, p);
}

std::string Pool2D::describe() const {
  return str_cat(type_name(), "(pool_size=(", options_.kernel[0], ", ", options_.kernel[1], "), strides=(",
                 options_.stride[0], ", ", options_.stride[1], "), padding=(", options_.padding[0], ", ",
                 options_.padding[1], "))");
}

Tensor GlobalAveragePooling2D::forward(const Tensor& x) {
  check_rank(x, 4, "GlobalAveragePooling2D", "(N, C, H, W)");
  return ag::reduce(ReduceOp::Mean, x, std::vector<int64_t>{2, 3}, keepdims_);
}

std::string GlobalAveragePooling2D::describe() const {
  return str_cat("GlobalAveragePooling2D(keepdims=", keepdims_ ? "True" : "False", ")");
}

Config Pool2D::config() const {
  const PoolOptions& o = options_;
  Config c{{"pool_size", pair_value(o.kernel)},
           {"strides", pair_value(o.stride)},
           {"padding", pair_value(o.padding)},
           {"ceil_mode", o.ceil_mode}};
  if (!max_) c.emplace_back("count_include_pad", o.count_include_pad);
  return c;
}

Config GlobalAveragePooling2D::config() const { return {{"keepdims", keepdims_}}; }

}  // namespace aimass::nn
