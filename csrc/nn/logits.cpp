#include "nn/logits.h"

#include "core/error.h"
#include "nn/activation.h"
#include "nn/dense.h"
#include "nn/graph.h"
#include "nn/sequential.h"

namespace aimass::nn {

namespace {

// A Dense's logits: its pre-activation, with the Dense (and so its weights) as child "dense".
class DenseLogits : public Module {
 public:
  explicit DenseLogits(std::shared_ptr<Dense> dense) : Module("DenseLogits"), dense_(dense) {
    register_module("dense", std::move(dense));
    set_built();
  }
  Tensor forward(const Tensor& x) override { return dense_->pre_activation(x); }

 private:
  std::shared_ptr<Dense> dense_;
};

bool is_activation(const Module& m, Activation act) {
  auto* a = dynamic_cast<const ActivationLayer*>(&m);
  return a != nullptr && a->activation() == act && (act != Activation::Softmax || a->axis() == -1);
}

// The module computing `m`'s input to `act` when m ends in it, else null. An activation layer
// itself has no module of its own to return: the caller drops it (dropped = true).
std::shared_ptr<Module> without_activation(const std::shared_ptr<Module>& m, Activation act, bool& dropped) {
  dropped = false;
  if (is_activation(*m, act)) {
    dropped = true;
    return nullptr;
  }
  if (auto dense = std::dynamic_pointer_cast<Dense>(m)) {
    if (dense->options().activation != act || !dense->built()) return nullptr;
    return std::make_shared<DenseLogits>(dense);
  }
  if (auto seq = std::dynamic_pointer_cast<Sequential>(m); seq && seq->size() > 0) {
    bool last_dropped = false;
    auto last = without_activation(seq->at(-1), act, last_dropped);
    if (!last && !last_dropped) return nullptr;
    std::vector<std::shared_ptr<Module>> layers;
    for (size_t i = 0; i + 1 < seq->size(); ++i) layers.push_back(seq->at(int64_t(i)));
    if (last) layers.push_back(last);
    if (layers.empty()) return nullptr;
    return std::make_shared<Sequential>(layers);
  }
  if (auto graph = std::dynamic_pointer_cast<Graph>(m); graph && graph->outputs().size() == 1) {
    int64_t out = graph->outputs()[0];
    const GraphNode& node = graph->nodes()[size_t(out)];
    if (node.layer < 0) return nullptr;
    bool last_dropped = false;
    auto last = without_activation(graph->layer(node.layer), act, last_dropped);
    if (!last && !last_dropped) return nullptr;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> layers = graph->children();
    std::vector<GraphNode> nodes = graph->nodes();
    int64_t new_out = out;
    if (last_dropped) {
      new_out = node.inputs[0];
    } else {
      // A new layer for this node only: the original may be shared with other nodes.
      layers.emplace_back(layers[size_t(node.layer)].first + "_logits", last);
      nodes[size_t(out)].layer = int64_t(layers.size()) - 1;
    }
    return std::make_shared<Graph>(layers, nodes, graph->inputs(), std::vector<int64_t>{new_out});
  }
  return nullptr;
}

}  // namespace

LogitsFusion fuse_output_activation(const std::shared_ptr<Module>& model, const Loss& loss) {
  LossOptions o = loss.options();
  Activation act = Activation::None;
  switch (o.kind) {
    case LossKind::CategoricalCrossentropy: o.kind = LossKind::CategoricalCrossentropyFromLogits; act = Activation::Softmax; break;
    case LossKind::SparseCategoricalCrossentropy:
      o.kind = LossKind::SparseCategoricalCrossentropyFromLogits;
      act = Activation::Softmax;
      break;
    case LossKind::BinaryCrossentropy: o.kind = LossKind::BinaryCrossentropyFromLogits; act = Activation::Sigmoid; break;
    default: return {};
  }
  bool dropped = false;
  auto twin = without_activation(model, act, dropped);
  if (!twin) return {};
  twin->train(model->training());
  return {twin, std::make_shared<Loss>(o)};
}

}  // namespace aimass::nn
