// The recorded graph. Every differentiable op whose inputs require grad creates a Node that
// knows how to turn the gradient of its output into gradients of its inputs, and points at
// the nodes that produced those inputs (its edges). Leaves end in AccumulateGrad, which adds
// into tensor.grad.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace aimass::autograd {

struct Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: that input needs no gradient
  uint32_t input_nr = 0;       // which gradient slot of `node` this one feeds
  bool valid() const { return node != nullptr; }
};

// A tensor kept for backward, with the storage version it had, so an in-place change made
// in between is caught instead of silently giving a wrong gradient. It holds a detached
// alias (same memory, no autograd state): a node saving its own output would otherwise
// own that output's grad_fn, which is itself, and the pair would never be freed.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t)
      : tensor_(t.defined() ? t.as_strided(t.shape(), t.strides(), t.offset()) : t),
        version_(t.defined() ? t.storage()->version.load() : 0) {}
  const Tensor& get(const char* op) const;  // throws RuntimeError if modified in place, or released
  void release() { tensor_ = Tensor(); released_ = true; }

 private:
  Tensor tensor_;
  uint64_t version_ = 0;
  bool released_ = false;
};

struct Node {
  Node();
  virtual ~Node() = default;
  // grads[i] is the gradient of output i (undefined when none reached it). Returns one
  // gradient per edge in `next` (undefined where there is none).
  virtual std::vector<Tensor> apply(const std::vector<Tensor>& grads) = 0;
  virtual std::string name() const = 0;
  // Frees the saved tensors after a backward pass without retain_graph.
  virtual void release_saved() {}

  std::vector<Edge> next;
  uint32_t num_outputs = 1;
  uint64_t sequence_nr;  // creation order: later nodes run first among the ready ones
};

// The sink for a leaf tensor: adds incoming gradients into its .grad.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf(std::move(leaf)) {}
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::shared_ptr<TensorImpl> leaf;
};

// Autograd state of a tensor: its .grad, and the node that made it (null for leaves).
struct Meta {
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;
  std::weak_ptr<AccumulateGrad> accumulator;
  bool retains_grad = false;
};

Meta& meta(const Tensor& t);                // created on first use
bool requires_grad(const Tensor& t);
Edge gradient_edge(const Tensor& t);        // where t's gradient goes; invalid if none
// Makes `outputs` the results of `node` (sets grad_fn, requires_grad). Call only when some
// input required grad and grad mode is on.
void set_history(const std::vector<Tensor>& outputs, const std::shared_ptr<Node>& node);
// True when grad mode is on and any of the tensors requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> tensors);

}  // namespace aimass::autograd
