// Multi-head attention and the pre-LayerNorm transformer block, batch first.
// MultiHeadAttention: query (B, T, E), key and value (B, S, Ek) (self-attention: all the query)
// -> (B, T, E). Heads H split E into H slices of Dh = E / H:
//   Q = q_proj(query) (B, H, T, Dh), K = k_proj(key) (B, H, S, Dh), V = v_proj(value) (B, H, S, Dh)
//   out = out_proj(concat_h softmax(Q K^T / sqrt(Dh) + mask) V)
// Masks: causal (position t sees s <= t + S - T) and attn_mask, broadcastable to (B, H, T, S):
// bool (true: masked out, PyTorch's convention) or floating (added to the scores).
// quantized = true (am.quant.quantize_dynamic): the projections (and the block's MLP) are
// QuantizedDense layers, int8 weights with activations quantised per row (nn/quantized.h);
// inference only.
#pragma once
#include "nn/activation.h"
#include "nn/module.h"

namespace aimass::nn {

class MultiHeadAttention : public Module {
 public:
  // kdim, vdim: the key's and value's feature sizes (0: embed_dim).
  MultiHeadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true, int64_t kdim = 0,
                     int64_t vdim = 0, bool quantized = false);
  Tensor forward(const Tensor& x) override;  // self-attention, no mask
  Tensor attend(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask, bool causal);
  std::string describe() const override;
  Config config() const override;
  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  double dropout() const { return dropout_; }
  bool bias() const { return bias_; }
  int64_t kdim() const { return kdim_; }
  int64_t vdim() const { return vdim_; }
  bool quantized() const { return quantized_; }

 private:
  int64_t embed_dim_, num_heads_, kdim_, vdim_;
  double dropout_;
  bool bias_, quantized_;
};

// x + Dropout(MHA(LN1(x))), then + Dropout(fc2(act(fc1(LN2(x))))). x: (B, T, E) -> (B, T, E).
struct TransformerBlockOptions {
  int64_t embed_dim = 0;
  int64_t num_heads = 1;
  int64_t mlp_dim = 0;  // 0: 4 * embed_dim
  double dropout = 0.0;
  Activation activation = Activation::Gelu;
  bool causal = false;
  double eps = 1e-5;
  bool quantized = false;
};

class TransformerBlock : public Module {
 public:
  explicit TransformerBlock(const TransformerBlockOptions& options);
  Tensor forward(const Tensor& x) override;
  Tensor forward_masked(const Tensor& x, const Tensor& attn_mask);
  std::string describe() const override;
  Config config() const override;
  const TransformerBlockOptions& options() const { return options_; }

 private:
  TransformerBlockOptions options_;
};

}  // namespace aimass::nn
