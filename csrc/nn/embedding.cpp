#include "nn/embedding.h"

#include "autograd/functions.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/index.h"
#include "ops/reduce.h"

namespace aimass::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim)
    : Module("Embedding"), num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {
  AM_CHECK(num_embeddings > 0 && embedding_dim > 0, ValueError,
           "Embedding: num_embeddings and embedding_dim must be positive, got ", num_embeddings, " and ", embedding_dim);
  register_parameter("weight", randn({num_embeddings, embedding_dim}, DType::Float32));
  set_built();
}

Tensor Embedding::forward(const Tensor& indices) {
  AM_CHECK(!is_floating(indices.dtype()) && indices.dtype() != DType::Bool, TypeError,
           "Embedding: indices must be an integer tensor, got ", indices.describe());
  if (indices.numel() > 0) {
    int64_t lowest = item(reduce(ReduceOp::Min, indices, std::nullopt, false)).i;
    AM_CHECK(lowest >= 0, IndexError, "Embedding(num_embeddings=", num_embeddings_, "): indices must be in [0, ",
             num_embeddings_, "), got ", lowest);
  }
  try {
    // weight[indices]: the gradient scatters back with accumulation (repeated ids add up).
    return autograd::index(parameter("weight"), {TensorIndex::of(indices)});
  } catch (const IndexError& e) {
    throw IndexError(str_cat("Embedding(num_embeddings=", num_embeddings_, "): an index is out of range [0, ",
                             num_embeddings_, "): ", e.what()));
  }
}

std::string Embedding::describe() const {
  return str_cat("Embedding(num_embeddings=", num_embeddings_, ", embedding_dim=", embedding_dim_, ")");
}

Config Embedding::config() const { return {{"num_embeddings", num_embeddings_}, {"embedding_dim", embedding_dim_}}; }

}  // namespace aimass::nn
