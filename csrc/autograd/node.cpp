#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/elementwise.h"

namespace aimass::autograd {

namespace {
std::atomic<uint64_t> g_next_sequence{0};
}

Node::Node() : sequence_nr(g_next_sequence++) {}

const Tensor& SavedTensor::get(const char* op) const {
  AM_CHECK(!released_, RuntimeError, op,
           ": trying to backward through the graph a second time (its saved tensors were freed after the first "
           "backward); pass retain_graph=True to the first backward if you need to");
  AM_CHECK(!tensor_.defined() || tensor_.storage()->version.load() == version_, RuntimeError, op,
           ": a tensor needed for the gradient (", tensor_.describe(),
           ") was modified by an in-place operation after it was used; clone it before changing it");
  return tensor_;
}

std::vector<Tensor> AccumulateGrad::apply(const std::vector<Tensor>& grads) {
  const Tensor& g = grads[0];
  if (!g.defined()) return {};
  Meta& m = meta(Tensor(leaf));
  Tensor incoming = to_dtype(g, leaf->dtype);
  if (m.grad.defined()) {
    m.grad = binary(BinaryOp::Add, m.grad, incoming);
    return {};
  }
  // The first gradient is taken over when nothing else refers to its tensor or memory (the
  // engine's buffer holds the one reference), as PyTorch does: that saves a copy per leaf per
  // step. Otherwise (a user's gradient, a view, a shared buffer) a fresh copy, never an alias.
  const bool sole = incoming.impl_ptr().use_count() == 1 + (incoming.impl_ptr() == g.impl_ptr()) &&
                    incoming.storage().use_count() == 1 && incoming.offset() == 0 && incoming.is_contiguous() &&
                    incoming.storage()->nbytes == incoming.nbytes();
  m.grad = sole ? Tensor::from_storage(incoming.storage(), 0, incoming.shape(), incoming.strides(), incoming.dtype())
                : clone(incoming);
  return {};
}

Meta& meta(const Tensor& t) {
  if (!t.impl()->autograd) t.impl()->autograd = std::make_shared<AutogradMeta>();
  return *t.impl()->autograd;
}

bool requires_grad(const Tensor& t) { return t.defined() && t.impl()->requires_grad; }

Edge gradient_edge(const Tensor& t) {
  if (!requires_grad(t)) return {};
  Meta& m = meta(t);
  if (m.grad_fn) return {m.grad_fn, m.output_nr};
  std::shared_ptr<AccumulateGrad> acc = m.accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
    m.accumulator = acc;
  }
  return {acc, 0};
}

void set_history(const std::vector<Tensor>& outputs, const std::shared_ptr<Node>& node) {
  node->num_outputs = uint32_t(outputs.size());
  for (uint32_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.defined() || !is_floating(out.dtype())) continue;
    out.impl()->requires_grad = true;
    Meta& m = meta(out);
    m.grad_fn = node;
    m.output_nr = i;
  }
}

bool any_requires_grad(std::initializer_list<const Tensor*> tensors) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : tensors)
    if (t && requires_grad(*t)) return true;
  return false;
}

}  // namespace aimass::autograd
