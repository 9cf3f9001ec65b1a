#include "autograd/engine.h"

#include <queue>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"

namespace aimass::autograd {

namespace {

// Gradients waiting at a node, one slot per output of the node, summed as they arrive.
using Buffer = std::vector<Tensor>;

void accumulate(Buffer& buffer, uint32_t slot, const Tensor& grad) {
  if (!grad.defined()) return;
  if (buffer.size() <= slot) buffer.resize(slot + 1);
  Tensor& cur = buffer[slot];
  cur = cur.defined() ? binary(BinaryOp::Add, cur, grad) : grad;
}

struct LaterFirst {
  bool operator()(Node* a, Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  AM_CHECK(roots.size() == grads.size(), ValueError, "backward: ", roots.size(), " tensors but ", grads.size(),
           " gradients");
  GradModeGuard no_grad(false);  // the backward pass itself records nothing

  std::unordered_map<Node*, Buffer> buffers;
  std::vector<std::shared_ptr<Node>> keep_alive;
  std::vector<Node*> starts;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    AM_CHECK(requires_grad(root), RuntimeError, "backward: tensor ", i, " (", root.describe(),
             ") does not require grad and has no grad_fn");
    Tensor g = grads[i];
    if (!g.defined()) {
      AM_CHECK(root.numel() == 1, RuntimeError, "backward: grad can be implicitly created only for one-element "
               "outputs; pass a gradient for ", root.describe());
      g = full(root.shape(), Scalar::from_int(1), root.dtype(), root.device());
    } else {
      AM_CHECK(g.shape() == root.shape(), ValueError, "backward: gradient ", g.describe(), " does not match ",
               root.describe());
      AM_CHECK(g.device() == root.device(), RuntimeError, "backward: gradient ", g.describe(), " is not on ",
               root.device().str());
    }
    Edge e = gradient_edge(root);
    accumulate(buffers[e.node.get()], e.input_nr, g);
    keep_alive.push_back(e.node);
    starts.push_back(e.node.get());
  }

  // Count, for every node reachable from the roots, how many edges lead into it.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack(starts.begin(), starts.end());
  std::unordered_map<Node*, bool> seen;
  for (Node* n : starts) seen[n] = true;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (!e.valid()) continue;
      dependencies[e.node.get()]++;
      if (!seen[e.node.get()]) {
        seen[e.node.get()] = true;
        stack.push_back(e.node.get());
      }
    }
  }

  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (Node* n : starts)
    if (dependencies[n] == 0) {
      dependencies[n] = -1;  // queued
      ready.push(n);
    }
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    Buffer in = std::move(buffers[n]);
    buffers.erase(n);
    in.resize(std::max<size_t>(in.size(), n->num_outputs));
    std::vector<Tensor> out = n->apply(in);
    if (!retain_graph) n->release_saved();  // a later backward needing them raises
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.valid()) continue;
      if (i < out.size()) accumulate(buffers[e.node.get()], e.input_nr, out[i]);
      if (--dependencies[e.node.get()] == 0) ready.push(e.node.get());
    }
  }
}

}  // namespace aimass::autograd
