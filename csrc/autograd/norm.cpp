#include "autograd/norm.h"

#include "autograd/function_util.h"
#include "ops/norm.h"
#include "ops/shape.h"

namespace aimass::autograd {

namespace {

// Gradients for (x, weight, bias); weight's and bias's come flat from the op and take their
// input's shape and dtype here.
struct NormBackward : Node {
  SavedTensor x, weight, mean, scale;  // scale: layer norm's rstd, batch norm's invstd
  Shape weight_shape, bias_shape;
  DType weight_dtype = DType::Float32, bias_dtype = DType::Float32;
  void release_saved() override {
    x.release();
    weight.release();
    mean.release();
    scale.release();
  }
  virtual NormGrads run(const Tensor& g, bool want_weight, bool want_bias) = 0;
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    const bool want_weight = next[1].valid(), want_bias = next[2].valid();
    NormGrads r = run(grads[0], want_weight, want_bias);
    return {next[0].valid() ? r.x : Tensor(),
            want_weight ? raw::to_dtype(raw::reshape(r.weight, weight_shape), weight_dtype) : Tensor(),
            want_bias ? raw::to_dtype(raw::reshape(r.bias, bias_shape), bias_dtype) : Tensor()};
  }
  void save(const Tensor& in, const Tensor& w, const Tensor& b, const Tensor& m, const Tensor& s) {
    x = SavedTensor(in);
    weight = SavedTensor(w);
    mean = SavedTensor(m);
    scale = SavedTensor(s);
    if (w.defined()) {
      weight_shape = w.shape();
      weight_dtype = w.dtype();
    }
    if (b.defined()) {
      bias_shape = b.shape();
      bias_dtype = b.dtype();
    }
  }
};

struct LayerNormBackward final : NormBackward {
  int64_t normalized_dims = 1;
  std::string name() const override { return "layer_norm_backward"; }
  NormGrads run(const Tensor& g, bool want_weight, bool want_bias) override {
    const char* n = "layer_norm_backward";
    return raw::layer_norm_backward(g, x.get(n), normalized_dims, weight.get(n), mean.get(n), scale.get(n),
                                    want_weight, want_bias);
  }
};

struct BatchNormBackward final : NormBackward {
  bool batch_statistics = true;
  std::string name() const override { return "batch_norm_backward"; }
  NormGrads run(const Tensor& g, bool want_weight, bool want_bias) override {
    const char* n = "batch_norm_backward";
    return raw::batch_norm_backward(g, x.get(n), weight.get(n), mean.get(n), scale.get(n), batch_statistics,
                                    want_weight, want_bias);
  }
};

}  // namespace

Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps) {
  if (!any_requires_grad({&x, &weight, &bias})) return raw::layer_norm(x, normalized_dims, weight, bias, eps);
  Tensor mean, rstd;
  Tensor out = raw::layer_norm(x, normalized_dims, weight, bias, eps, &mean, &rstd);
  auto node = make_node<LayerNormBackward>({&x, &weight, &bias});
  node->normalized_dims = normalized_dims;
  node->save(x, weight, bias, mean, rstd);
  set_history({out}, node);
  return out;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  if (!any_requires_grad({&x, &weight, &bias}))
    return raw::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps);
  Tensor mean, invstd;
  Tensor out = raw::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, &mean, &invstd);
  auto node = make_node<BatchNormBackward>({&x, &weight, &bias});
  node->batch_statistics = training || !running_mean.defined();
  node->save(x, weight, bias, mean, invstd);
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
