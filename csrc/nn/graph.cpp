#include "nn/graph.h"

#include "core/error.h"
#include "nn/merge.h"

namespace aimass::nn {

Graph::Graph(std::vector<std::pair<std::string, std::shared_ptr<Module>>> layers, std::vector<GraphNode> nodes,
             std::vector<int64_t> inputs, std::vector<int64_t> outputs)
    : Module("Model"), nodes_(std::move(nodes)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
  for (auto& [name, layer] : layers) {
    AM_CHECK(layer != nullptr, ValueError, "Model: layer '", name, "' is None");
    AM_CHECK(child(name) == nullptr, ValueError, "Model: two layers are named '", name, "'");
    register_module(name, layer);
  }
  int64_t n = int64_t(nodes_.size()), num_layers = int64_t(children().size());
  AM_CHECK(!inputs_.empty() && !outputs_.empty(), ValueError, "Model: needs at least one input and one output");
  std::vector<bool> is_input(size_t(n), false);
  for (int64_t i : inputs_) {
    AM_CHECK(i >= 0 && i < n && nodes_[size_t(i)].layer == -1, ValueError, "Model: input ", i, " is not an input node");
    is_input[size_t(i)] = true;
  }
  for (int64_t o : outputs_) AM_CHECK(o >= 0 && o < n, ValueError, "Model: output node ", o, " is out of range");
  for (int64_t i = 0; i < n; ++i) {
    const GraphNode& node = nodes_[size_t(i)];
    if (node.layer == -1) {
      AM_CHECK(is_input[size_t(i)], ValueError, "Model: node ", i, " is an Input that is not among the model's inputs");
      continue;
    }
    AM_CHECK(node.layer >= 0 && node.layer < num_layers, ValueError, "Model: node ", i, " names layer ", node.layer,
             " of ", num_layers);
    for (int64_t j : node.inputs)
      AM_CHECK(j >= 0 && j < i, ValueError, "Model: node ", i, " takes node ", j, ", which does not come before it");
    bool merge = dynamic_cast<const MergeLayer*>(layer(node.layer).get()) != nullptr;
    const std::string name = children()[size_t(node.layer)].first;
    AM_CHECK(merge ? node.inputs.size() >= 2 : node.inputs.size() == 1, ValueError, "Model: layer '", name, "' (",
             layer(node.layer)->type_name(), ") at node ", i, " takes ", merge ? "2 or more inputs" : "one input",
             ", got ", node.inputs.size());
  }
  set_built();  // its layers build themselves
}

std::vector<Tensor> Graph::run(const std::vector<Tensor>& xs) {
  AM_CHECK(xs.size() == inputs_.size(), ValueError, "Model: expected ", inputs_.size(), " inputs, got ", xs.size());
  std::vector<Tensor> values(nodes_.size());  // each node's output; intermediate ones live until the end
  for (size_t k = 0; k < inputs_.size(); ++k) values[size_t(inputs_[k])] = xs[k];
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const GraphNode& node = nodes_[i];
    if (node.layer == -1) continue;
    Module& l = *layer(node.layer);
    if (auto* merge = dynamic_cast<MergeLayer*>(&l)) {
      std::vector<Tensor> args;
      for (int64_t j : node.inputs) args.push_back(values[size_t(j)]);
      values[i] = merge->merge(args);
    } else {
      values[i] = l.call(values[size_t(node.inputs[0])]);
    }
  }
  std::vector<Tensor> out;
  for (int64_t o : outputs_) out.push_back(values[size_t(o)]);
  return out;
}

Tensor Graph::forward(const Tensor& x) {
  AM_CHECK(inputs_.size() == 1 && outputs_.size() == 1, ValueError, "Model: this model has ", inputs_.size(),
           " inputs and ", outputs_.size(), " outputs: call it with a list of inputs");
  return run({x})[0];
}

}  // namespace aimass::nn
