// Runners: what a DynamicBatcher (serve/batcher.h) runs on a batch.
//
// module_runner: a model in eval mode without gradients, on its own device. Inputs arrive on the
//   CPU, move to the device of the model's first parameter (a GPU when the model lives there),
//   and the outputs come back to the CPU, contiguous. One input and one output: model.call(x);
//   a Graph (Keras's functional Model): run(xs), any number of each.
// knn_runner: an index answering the top k: input 0 (nq, d) queries (or (nq, ...) images when an
//   embedder is given: the embedder's outputs are the queries) -> outputs distances (nq, k)
//   float32 and ids (nq, k) int64. k and the filter come from the batch's key (knn_key), so
//   only requests asking the same are batched together.
#pragma once
#include <memory>
#include <string>

#include "knn/index.h"
#include "nn/module.h"
#include "serve/batcher.h"

namespace aimass::serve {

Runner module_runner(std::shared_ptr<nn::Module> model);

// The key of a k-NN request: "k=<k>" plus ";allow=<ids>" for a filter of allowed ids
// (comma-separated, as given). ValueError for k < 1.
std::string knn_key(int64_t k, const std::vector<int64_t>& allowed_ids, bool filtered);
Runner knn_runner(std::shared_ptr<knn::Index> index, std::shared_ptr<nn::Module> embedder);

}  // namespace aimass::serve
