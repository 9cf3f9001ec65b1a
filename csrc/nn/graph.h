// Graph: the model of Keras's functional API, a directed acyclic graph of layers.
//
//   x = Input((1, 8, 8)); a = Conv2D(8, 3)(x); b = Conv2D(8, 3)(x); y = Dense(10)(Flatten()(Add()([a, b])))
//   -> nodes: 0 input, 1 conv a <- [0], 2 conv b <- [0], 3 add <- [1, 2], 4 flatten <- [3], 5 dense <- [4]
//
// Nodes are in topological order: a node's inputs are earlier nodes. A node is a model input
// (layer -1) or a call of one of the graph's layers on the outputs of its input nodes: a
// one-input layer's call(x), or a MergeLayer's merge(xs). A layer may be called at several
// nodes (shared weights). The layers are the graph's children, under the names given, so
// parameters read "<layer name>.weight".
//
// forward(x) runs a graph of one input and one output (what the native training loop calls);
// run(xs) any number of each.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"

namespace aimass::nn {

struct GraphNode {
  int64_t layer = -1;           // index into the graph's layers; -1: a model input
  std::vector<int64_t> inputs;  // earlier nodes whose outputs this node takes (empty for an input)
};

class Graph : public Module {
 public:
  // layers: (name, module), names unique; inputs / outputs: node indices, in the model's order.
  // ValueError on a node out of order, an unknown layer, several inputs to a non-merge layer,
  // a merge layer with one input, or an input node not listed in `inputs`.
  Graph(std::vector<std::pair<std::string, std::shared_ptr<Module>>> layers, std::vector<GraphNode> nodes,
        std::vector<int64_t> inputs, std::vector<int64_t> outputs);

  Tensor forward(const Tensor& x) override;                 // one input, one output
  std::vector<Tensor> run(const std::vector<Tensor>& xs);   // xs: one per input -> one per output

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<int64_t>& inputs() const { return inputs_; }
  const std::vector<int64_t>& outputs() const { return outputs_; }
  std::shared_ptr<Module> layer(int64_t i) const { return child_at(size_t(i)); }
  size_t num_layers() const { return num_children(); }

 private:
  std::vector<GraphNode> nodes_;
  std::vector<int64_t> inputs_, outputs_;
};

}  // namespace aimass::nn
