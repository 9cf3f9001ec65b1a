// Embedding: a lookup table. indices: integer (...) -> (..., embedding_dim); weight:
// (num_embeddings, embedding_dim), initialised from N(0, 1) as PyTorch's.
#pragma once
#include "nn/module.h"

namespace aimass::nn {

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim);
  Tensor forward(const Tensor& indices) override;
  std::string describe() const override;
  Config config() const override;
  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t embedding_dim() const { return embedding_dim_; }

 private:
  int64_t num_embeddings_, embedding_dim_;
};

}  // namespace aimass::nn
