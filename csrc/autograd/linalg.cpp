#include "autograd/linalg.h"

#include "autograd/function_util.h"
#include "ops/linalg.h"
#include "ops/shape.h"

namespace aimass::autograd {

namespace {

struct MatmulBackward final : Node {
  SavedTensor a, b;
  std::string name() const override { return "matmul_backward"; }
  void release_saved() override { a.release(); b.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g_in = grads[0];
    if (!g_in.defined()) return {Tensor(), Tensor()};
    const Tensor& ta = a.get("matmul");
    const Tensor& tb = b.get("matmul");
    // Work on the matrix forms: (K,) -> (1, K) for a, (K,) -> (K, 1) for b.
    Tensor a2 = ta.dim() == 1 ? raw::unsqueeze(ta, 0) : ta;
    Tensor b2 = tb.dim() == 1 ? raw::unsqueeze(tb, 1) : tb;
    Tensor g = g_in;
    if (ta.dim() == 1) g = raw::unsqueeze(g, g.dim() - (tb.dim() == 1 ? 0 : 1));
    if (tb.dim() == 1) g = raw::unsqueeze(g, g.dim());
    Tensor ga, gb;
    if (next[0].valid()) ga = raw::reshape(sum_to(raw::matmul(g, raw::transpose(b2, -1, -2)), a2.shape()), ta.shape());
    if (next[1].valid()) gb = raw::reshape(sum_to(raw::matmul(raw::transpose(a2, -1, -2), g), b2.shape()), tb.shape());
    return {ga.defined() ? raw::to_dtype(ga, ta.dtype()) : ga, gb.defined() ? raw::to_dtype(gb, tb.dtype()) : gb};
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = raw::matmul(a, b);
  if (!any_requires_grad({&a, &b})) return out;
  auto node = make_node<MatmulBackward>({&a, &b});
  node->a = SavedTensor(a);
  node->b = SavedTensor(b);
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
