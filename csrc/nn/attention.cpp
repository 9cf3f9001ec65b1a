#include "nn/attention.h"

#include <cmath>

#include "autograd/functions.h"
#include "core/error.h"
#include "nn/dense.h"
#include "nn/dropout.h"
#include "nn/normalization.h"
#include "nn/quantized.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/shape.h"

namespace aimass::nn {

namespace ag = aimass::autograd;

namespace {

// A Dense (units, in_features), or its dynamic int8 counterpart.
std::shared_ptr<Module> projection(int64_t units, int64_t in_features, bool bias, bool quantized,
                                   Activation activation = Activation::None) {
  if (quantized) {
    QuantizedDenseOptions q;
    q.units = units;
    q.in_features = in_features;
    q.use_bias = bias;
    q.activation = activation;
    return std::make_shared<QuantizedDense>(q);
  }
  DenseOptions o;
  o.units = units;
  o.in_features = in_features;
  o.use_bias = bias;
  o.activation = activation;
  return std::make_shared<Dense>(o);
}

// (B, L, E) -> (B, H, L, Dh)
Tensor split_heads(const Tensor& x, int64_t heads) {
  return ag::permute(ag::reshape(x, {x.size(0), x.size(1), heads, x.size(2) / heads}), {0, 2, 1, 3});
}

// Bool (T, S): true where query t may not see key s (s > t + S - T).
Tensor causal_mask(int64_t t, int64_t s, Device device) {
  Tensor rows = reshape(arange(Scalar::from_int(s - t), Scalar::from_int(s), Scalar::from_int(1), DType::Int64, device), {t, 1});
  Tensor cols = reshape(arange(Scalar::from_int(0), Scalar::from_int(s), Scalar::from_int(1), DType::Int64, device), {1, s});
  return binary(BinaryOp::Gt, cols, rows);
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(int64_t embed_dim, int64_t num_heads, double dropout, bool bias, int64_t kdim,
                                       int64_t vdim, bool quantized)
    : Module("MultiHeadAttention"),
      embed_dim_(embed_dim),
      num_heads_(num_heads),
      kdim_(kdim ? kdim : embed_dim),
      vdim_(vdim ? vdim : embed_dim),
      dropout_(dropout),
      bias_(bias),
      quantized_(quantized) {
  AM_CHECK(embed_dim > 0 && num_heads > 0 && embed_dim % num_heads == 0, ValueError,
           "MultiHeadAttention: embed_dim (", embed_dim, ") must be a positive multiple of num_heads (", num_heads, ")");
  AM_CHECK(dropout >= 0 && dropout <= 1, ValueError, "MultiHeadAttention: dropout must be in [0, 1], got ", dropout);
  AM_CHECK(kdim >= 0 && vdim >= 0, ValueError, "MultiHeadAttention: kdim and vdim must be positive, got ", kdim, " and ", vdim);
  register_module("q_proj", projection(embed_dim, embed_dim, bias, quantized));
  register_module("k_proj", projection(embed_dim, kdim_, bias, quantized));
  register_module("v_proj", projection(embed_dim, vdim_, bias, quantized));
  register_module("out_proj", projection(embed_dim, embed_dim, bias, quantized));
  set_built();
}

Tensor MultiHeadAttention::forward(const Tensor& x) { return attend(x, x, x, Tensor(), false); }

Tensor MultiHeadAttention::attend(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                  bool causal) {
  for (const Tensor* t : {&query, &key, &value})
    AM_CHECK(t->dim() == 3, ValueError, "MultiHeadAttention: expected 3-D inputs (batch, length, features), got ",
             t->describe());
  AM_CHECK(query.size(0) == key.size(0) && key.size(0) == value.size(0) && key.size(1) == value.size(1), ValueError,
           "MultiHeadAttention: query ", query.describe(), ", key ", key.describe(), " and value ", value.describe(),
           " must share the batch, and key and value the length");
  int64_t b = query.size(0), t = query.size(1), s = key.size(1), h = num_heads_;
  double scale = 1.0 / std::sqrt(double(embed_dim_ / h));
  Tensor q = split_heads(ag::binary(BinaryOp::Mul, child("q_proj")->call(query), Scalar::from_float(scale)), h);
  Tensor k = split_heads(child("k_proj")->call(key), h);    // (B, H, S, Dh)
  Tensor v = split_heads(child("v_proj")->call(value), h);  // (B, H, S, Dh)
  Tensor scores = ag::matmul(q, ag::transpose(k, 2, 3));   // (B, H, T, S)
  if (causal) {
    Tensor neg_inf = scalar_tensor(Scalar::from_float(-INFINITY), scores.dtype(), scores.device());
    scores = ag::where(causal_mask(t, s, scores.device()), neg_inf, scores);
  }
  if (attn_mask.defined()) {
    AM_CHECK(attn_mask.dim() <= 4, ValueError, "MultiHeadAttention: attn_mask ", attn_mask.describe(),
             " must broadcast to (batch, heads, query length, key length) = ", Shape{b, h, t, s});
    Shape target{b, h, t, s};
    AM_CHECK(broadcast_shapes(attn_mask.shape(), target, "MultiHeadAttention attn_mask") == target, ValueError,
             "MultiHeadAttention: attn_mask ", attn_mask.describe(), " does not broadcast to ", target);
    if (attn_mask.dtype() == DType::Bool) {
      Tensor neg_inf = scalar_tensor(Scalar::from_float(-INFINITY), scores.dtype(), scores.device());
      scores = ag::where(attn_mask, neg_inf, scores);
    } else {
      scores = ag::binary(BinaryOp::Add, scores, ag::to_dtype(attn_mask, scores.dtype()));
    }
  }
  Tensor weights = ag::dropout(ag::softmax(scores, -1, false), dropout_, training());
  Tensor out = ag::permute(ag::matmul(weights, v), {0, 2, 1, 3});  // (B, T, H, Dh)
  return child("out_proj")->call(ag::reshape(out, {b, t, embed_dim_}));
}

std::string MultiHeadAttention::describe() const {
  return str_cat("MultiHeadAttention(embed_dim=", embed_dim_, ", num_heads=", num_heads_, ", dropout=", dropout_, ")");
}

TransformerBlock::TransformerBlock(const TransformerBlockOptions& options) : Module("TransformerBlock"), options_(options) {
  AM_CHECK(options.embed_dim > 0, ValueError, "TransformerBlock: embed_dim must be positive, got ", options.embed_dim);
  if (options_.mlp_dim == 0) options_.mlp_dim = 4 * options.embed_dim;
  AM_CHECK(options_.mlp_dim > 0, ValueError, "TransformerBlock: mlp_dim must be positive, got ", options.mlp_dim);
  LayerNormOptions ln;
  ln.normalized_shape = {options.embed_dim};
  ln.eps = options.eps;
  register_module("ln1", std::make_shared<LayerNorm>(ln));
  register_module("attn", std::make_shared<MultiHeadAttention>(options.embed_dim, options.num_heads, options.dropout,
                                                               true, 0, 0, options.quantized));
  register_module("ln2", std::make_shared<LayerNorm>(ln));
  register_module("fc1", projection(options_.mlp_dim, options.embed_dim, true, options.quantized, options.activation));
  register_module("fc2", projection(options.embed_dim, options_.mlp_dim, true, options.quantized));
  register_module("dropout", std::make_shared<Dropout>(options.dropout));
  set_built();
}

Tensor TransformerBlock::forward(const Tensor& x) { return forward_masked(x, Tensor()); }

Tensor TransformerBlock::forward_masked(const Tensor& x, const Tensor& attn_mask) {
  AM_CHECK(x.dim() == 3 && x.size(2) == options_.embed_dim, ValueError, "TransformerBlock(embed_dim=", options_.embed_dim,
           "): expected an input (batch, length, ", options_.embed_dim, "), got ", x.describe());
  auto& attn = static_cast<MultiHeadAttention&>(*child("attn"));
  auto drop = child("dropout");
  Tensor h = child("ln1")->call(x);
  Tensor y = ag::binary(BinaryOp::Add, x, drop->call(attn.attend(h, h, h, attn_mask, options_.causal)));
  Tensor m = child("fc2")->call(child("fc1")->call(child("ln2")->call(y)));
  return ag::binary(BinaryOp::Add, y, drop->call(m));
}

std::string TransformerBlock::describe() const {
  return str_cat("TransformerBlock(embed_dim=", options_.embed_dim, ", num_heads=", options_.num_heads,
                 ", mlp_dim=", options_.mlp_dim, ", dropout=", options_.dropout, ", activation=",
                 activation_name(options_.activation), ", causal=", options_.causal ? "True" : "False", ")");
}

Config MultiHeadAttention::config() const {
  return {{"embed_dim", embed_dim_}, {"num_heads", num_heads_}, {"dropout", dropout_},
          {"bias", bias_},           {"kdim", kdim_},           {"vdim", vdim_},
          {"quantized", quantized_}};
}

Config TransformerBlock::config() const {
  const TransformerBlockOptions& o = options_;
  return {{"embed_dim", o.embed_dim}, {"num_heads", o.num_heads}, {"mlp_dim", o.mlp_dim},
          {"dropout", o.dropout},     {"activation", activation_config(o.activation)},
          {"causal", o.causal},       {"eps", o.eps},
          {"quantized", o.quantized}};
}

}  // namespace aimass::nn
