#include "autograd/elementwise.h"

#include "autograd/function_util.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/weak_scalar.h"

namespace aimass::autograd {

namespace {

struct UnaryBackward final : Node {
  UnaryOp op;
  SavedTensor x, result;
  std::string name() const override { return std::string(unary_name(op)) + "_backward"; }
  void release_saved() override { x.release(); result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor()};
    const char* n = unary_name(op);
    using B = BinaryOp;
    auto mul = [](const Tensor& a, const Tensor& b) { return raw::binary(B::Mul, a, b); };
    Tensor out;
    switch (op) {
      case UnaryOp::Neg: out = raw::unary(UnaryOp::Neg, g); break;
      case UnaryOp::Abs: out = mul(g, raw::unary(UnaryOp::Sign, x.get(n))); break;
      case UnaryOp::Exp: out = mul(g, result.get(n)); break;
      case UnaryOp::Log: out = raw::binary(B::Div, g, x.get(n)); break;
      case UnaryOp::Sqrt: out = raw::binary(B::Div, raw::binary(B::Mul, g, num(0.5)), result.get(n)); break;
      case UnaryOp::Tanh: {
        const Tensor& r = result.get(n);
        out = mul(g, raw::binary(B::Sub, num(1), mul(r, r)));
        break;
      }
      case UnaryOp::Sigmoid: {
        const Tensor& r = result.get(n);
        out = mul(g, mul(r, raw::binary(B::Sub, num(1), r)));
        break;
      }
      case UnaryOp::Relu:
        out = raw::where(raw::binary(B::Gt, x.get(n), num(0)), g, zeros_like(g));
        break;
      case UnaryOp::Square: out = mul(g, raw::binary(B::Mul, x.get(n), num(2))); break;
      case UnaryOp::Reciprocal: {
        const Tensor& r = result.get(n);
        out = raw::unary(UnaryOp::Neg, mul(g, mul(r, r)));
        break;
      }
      case UnaryOp::Rsqrt: {
        const Tensor& r = result.get(n);
        out = mul(g, raw::binary(B::Mul, mul(r, mul(r, r)), num(-0.5)));
        break;
      }
      case UnaryOp::Sin: out = mul(g, raw::unary(UnaryOp::Cos, x.get(n))); break;
      case UnaryOp::Cos: out = raw::unary(UnaryOp::Neg, mul(g, raw::unary(UnaryOp::Sin, x.get(n)))); break;
      default: out = zeros_like(g); break;  // sign, floor, ceil, round: zero almost everywhere
    }
    return {out};
  }
};

bool saves_input(UnaryOp op) {
  return op == UnaryOp::Abs || op == UnaryOp::Log || op == UnaryOp::Relu || op == UnaryOp::Square ||
         op == UnaryOp::Sin || op == UnaryOp::Cos;
}
bool saves_result(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid ||
         op == UnaryOp::Reciprocal || op == UnaryOp::Rsqrt;
}

struct BinaryBackward final : Node {
  BinaryOp op;
  SavedTensor a, b, result;
  Shape a_shape, b_shape;
  DType a_dtype, b_dtype;
  std::string name() const override { return std::string(binary_name(op)) + "_backward"; }
  void release_saved() override { a.release(); b.release(); result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor(), Tensor()};
    const char* n = binary_name(op);
    bool need_a = next[0].valid(), need_b = next[1].valid();
    using B = BinaryOp;
    auto mul = [](const Tensor& x, const Tensor& y) { return raw::binary(B::Mul, x, y); };
    Tensor ga, gb;
    switch (op) {
      case B::Add: ga = g; gb = g; break;
      case B::Sub: ga = g; gb = need_b ? raw::unary(UnaryOp::Neg, g) : Tensor(); break;
      case B::Mul:
        if (need_a) ga = mul(g, b.get(n));
        if (need_b) gb = mul(g, a.get(n));
        break;
      case B::Div:
        if (need_a) ga = raw::binary(B::Div, g, b.get(n));
        if (need_b) gb = raw::unary(UnaryOp::Neg, raw::binary(B::Div, mul(g, result.get(n)), b.get(n)));
        break;
      case B::Pow: {
        const Tensor& base = a.get(n);
        const Tensor& exponent = b.get(n);
        if (need_a) ga = mul(g, mul(exponent, raw::binary(B::Pow, base, raw::binary(B::Sub, exponent, num(1)))));
        if (need_b) {
          // d/db a^b = a^b log a; taken as 0 where a <= 0 (as PyTorch does at a == 0).
          Tensor log_a = raw::unary(UnaryOp::Log, base);
          Tensor term = mul(g, mul(result.get(n), log_a));
          gb = raw::where(raw::binary(B::Gt, base, num(0)), term, zeros_like(term));
        }
        break;
      }
      case B::Maximum:
      case B::Minimum: {
        // The larger (smaller) input takes the gradient; ties share it equally.
        const Tensor& x = a.get(n);
        const Tensor& y = b.get(n);
        Tensor wins = raw::to_dtype(raw::binary(op == B::Maximum ? B::Gt : B::Lt, x, y), g.dtype());
        Tensor ties = raw::binary(B::Mul, raw::to_dtype(raw::binary(B::Eq, x, y), g.dtype()), num(0.5));
        Tensor share_a = raw::binary(B::Add, wins, ties);
        if (need_a) ga = mul(g, share_a);
        if (need_b) gb = mul(g, raw::binary(B::Sub, num(1), share_a));
        break;
      }
      case B::Remainder:
        ga = g;
        if (need_b) gb = raw::unary(UnaryOp::Neg, mul(g, raw::unary(UnaryOp::Floor, raw::binary(B::Div, a.get(n), b.get(n)))));
        break;
      default: break;  // comparisons and logical ops have no gradient
    }
    return {need_a ? to_input(ga, a_shape, a_dtype) : Tensor(), need_b ? to_input(gb, b_shape, b_dtype) : Tensor()};
  }
};

struct WhereBackward final : Node {
  SavedTensor cond;
  Shape a_shape, b_shape;
  DType a_dtype, b_dtype;
  std::string name() const override { return "where_backward"; }
  void release_saved() override { cond.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor(), Tensor()};
    const Tensor& c = cond.get("where");
    Tensor zero = zeros_like(g);
    return {next[0].valid() ? to_input(raw::where(c, g, zero), a_shape, a_dtype) : Tensor(),
            next[1].valid() ? to_input(raw::where(c, zero, g), b_shape, b_dtype) : Tensor()};
  }
};

struct ClampBackward final : Node {
  SavedTensor x;
  Scalar lo, hi;
  std::string name() const override { return "clamp_backward"; }
  void release_saved() override { x.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor()};
    const Tensor& in = x.get("clamp");
    Tensor inside = raw::binary(BinaryOp::LogicalAnd, raw::binary(BinaryOp::Ge, in, lo), raw::binary(BinaryOp::Le, in, hi));
    return {raw::to_dtype(raw::where(inside, g, zeros_like(g)), in.dtype())};
  }
};

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  Tensor out = raw::unary(op, x);
  if (!any_requires_grad({&x}) || !is_floating(out.dtype())) return out;
  auto node = make_node<UnaryBackward>({&x});
  node->op = op;
  if (saves_input(op)) node->x = SavedTensor(x);
  if (saves_result(op)) node->result = SavedTensor(out);
  set_history({out}, node);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = raw::binary(op, a, b);
  if (!any_requires_grad({&a, &b}) || is_comparison(op)) return out;
  auto node = make_node<BinaryBackward>({&a, &b});
  node->op = op;
  node->a_shape = a.shape();
  node->b_shape = b.shape();
  node->a_dtype = a.dtype();
  node->b_dtype = b.dtype();
  bool need_a = requires_grad(a), need_b = requires_grad(b);
  bool saves_a = (op == BinaryOp::Mul && need_b) || op == BinaryOp::Pow || op == BinaryOp::Maximum ||
                 op == BinaryOp::Minimum || (op == BinaryOp::Remainder && need_b);
  bool saves_b = (op == BinaryOp::Mul && need_a) || op == BinaryOp::Div || op == BinaryOp::Pow ||
                 op == BinaryOp::Maximum || op == BinaryOp::Minimum || (op == BinaryOp::Remainder && need_b);
  if (saves_a) node->a = SavedTensor(a);
  if (saves_b) node->b = SavedTensor(b);
  if ((op == BinaryOp::Div && need_b) || op == BinaryOp::Pow) node->result = SavedTensor(out);
  set_history({out}, node);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, Scalar b) {
  return autograd::binary(op, a, weak_scalar_tensor(b, a.dtype(), a.device()));
}
Tensor binary(BinaryOp op, Scalar a, const Tensor& b) {
  return autograd::binary(op, weak_scalar_tensor(a, b.dtype(), b.device()), b);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = raw::where(cond, a, b);
  if (!any_requires_grad({&a, &b})) return out;
  auto node = make_node<WhereBackward>({&a, &b});
  node->cond = SavedTensor(raw::to_dtype(cond, DType::Bool));
  node->a_shape = a.shape();
  node->b_shape = b.shape();
  node->a_dtype = a.dtype();
  node->b_dtype = b.dtype();
  set_history({out}, node);
  return out;
}

Tensor clamp(const Tensor& x, Scalar lo, Scalar hi) {
  Tensor out = raw::clamp(x, lo, hi);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<ClampBackward>({&x});
  node->x = SavedTensor(x);
  node->lo = lo;
  node->hi = hi;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
