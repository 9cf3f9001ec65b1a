#include "autograd/functions.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/activation.h"
#include "ops/dropout.h"
#include "ops/nn.h"
#include "ops/norm.h"
#include "ops/reduce.h"
#include "ops/shape.h"

namespace aimass::autograd {

namespace raw = ::aimass;  // the ops without graph recording

namespace {

Scalar num(double v) { return Scalar::from_float(v); }
Tensor zeros_like(const Tensor& t) { return full(t.shape(), Scalar::from_int(0), t.dtype(), t.device()); }

template <typename NodeT>
std::shared_ptr<NodeT> make_node(std::initializer_list<const Tensor*> inputs) {
  auto node = std::make_shared<NodeT>();
  for (const Tensor* t : inputs) node->next.push_back(gradient_edge(*t));
  return node;
}

// The gradient for an input: summed back to its shape and cast to its dtype.
Tensor to_input(const Tensor& grad, const Shape& shape, DType dtype) {
  if (!grad.defined()) return grad;
  return raw::to_dtype(sum_to(grad, shape), dtype);
}

// Reduced axes of an input of rank `ndim` (all when none given), sorted.
std::vector<int64_t> reduced_axes(const std::optional<std::vector<int64_t>>& axes, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (!axes) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
  } else {
    for (int64_t a : *axes) out.push_back(normalize_axis(a, ndim, op));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// g from a reduction without keepdims, with the reduced axes put back as size 1.
Tensor keep_dims(const Tensor& g, const std::vector<int64_t>& axes, bool keepdims) {
  if (keepdims) return g;
  Tensor out = g;
  for (int64_t a : axes) out = raw::unsqueeze(out, a);
  return out;
}

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

struct ReduceBackward final : Node {
  ReduceOp op;
  SavedTensor x, result;
  std::vector<int64_t> axes;
  bool keepdims = false;
  int64_t ddof = 0;
  std::string name() const override { return std::string(reduce_name(op)) + "_backward"; }
  void release_saved() override { x.release(); result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {Tensor()};
    const char* n = reduce_name(op);
    const Tensor& in = x.get(n);
    int64_t count = 1;
    for (int64_t a : axes) count *= in.shape()[a];
    Tensor gk = raw::expand(keep_dims(g, axes, keepdims), in.shape());
    using B = BinaryOp;
    Tensor out;
    switch (op) {
      case ReduceOp::Sum: out = raw::contiguous(gk); break;
      case ReduceOp::Mean: out = raw::binary(B::Div, gk, num(double(count))); break;
      case ReduceOp::Max:
      case ReduceOp::Min: {
        // Every element equal to the extreme shares its gradient (PyTorch's amax/amin rule).
        Tensor hit = raw::to_dtype(raw::binary(B::Eq, in, keep_dims(result.get(n), axes, keepdims)), g.dtype());
        Tensor hits = raw::reduce(ReduceOp::Sum, hit, axes, true);
        out = raw::binary(B::Div, raw::binary(B::Mul, gk, hit), hits);
        break;
      }
      case ReduceOp::Prod: {
        Tensor r = keep_dims(result.get(n), axes, keepdims);
        out = raw::binary(B::Div, raw::binary(B::Mul, gk, r), in);
        break;
      }
      case ReduceOp::Var: {
        Tensor mean = raw::reduce(ReduceOp::Mean, in, axes, true);
        Tensor centred = raw::binary(B::Sub, in, mean);
        out = raw::binary(B::Mul, gk, raw::binary(B::Mul, centred, num(2.0 / double(std::max<int64_t>(count - ddof, 1)))));
        break;
      }
      default: break;
    }
    return {raw::to_dtype(out, in.dtype())};
  }
};

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

// reshape, view, squeeze, unsqueeze, contiguous, clone: the gradient is reshaped back.
struct ReshapeBackward final : Node {
  Shape input_shape;
  std::string name() const override { return "reshape_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? raw::reshape(grads[0], input_shape) : Tensor()};
  }
};

struct PermuteBackward final : Node {
  std::vector<int64_t> inverse;
  std::string name() const override { return "permute_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? raw::permute(grads[0], inverse) : Tensor()};
  }
};

struct ExpandBackward final : Node {
  Shape input_shape;
  std::string name() const override { return "expand_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    return {grads[0].defined() ? sum_to(grads[0], input_shape) : Tensor()};
  }
};

struct IndexBackward final : Node {
  Shape input_shape;
  DType dtype;
  Device device;
  std::vector<TensorIndex> idx;
  std::string name() const override { return "index_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    Tensor out = full(input_shape, Scalar::from_int(0), dtype, device);
    index_put(out, idx, grads[0], /*accumulate=*/true);  // an element picked twice gets both gradients
    return {out};
  }
};

struct ConcatBackward final : Node {
  int64_t axis;
  std::vector<int64_t> sizes;
  bool stacked = false;
  std::string name() const override { return stacked ? "stack_backward" : "concatenate_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    std::vector<Tensor> out(sizes.size());
    if (!g.defined()) return out;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (next[i].valid()) {
        std::vector<TensorIndex> part(axis + 1, TensorIndex::slice(std::nullopt, std::nullopt, std::nullopt));
        part[axis] = TensorIndex::slice(start, start + sizes[i], std::nullopt);
        out[i] = raw::index(g, part);
        if (stacked) out[i] = raw::squeeze(out[i], axis);
      }
      start += sizes[i];
    }
    return out;
  }
};

struct ConvertBackward final : Node {
  DType dtype;
  Device device;
  std::string name() const override { return "to_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::to_device(raw::to_dtype(grads[0], dtype), device)};
  }
};

struct SoftmaxBackward final : Node {
  SavedTensor result;
  int64_t axis;
  bool log;
  std::string name() const override { return log ? "log_softmax_backward" : "softmax_backward"; }
  void release_saved() override { result.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::softmax_backward(result.get(name().c_str()), grads[0], axis, log)};
  }
};

struct CrossEntropyBackward final : Node {
  CrossEntropySaved state;  // its target and weight are held in the SavedTensors below
  SavedTensor target, weight;
  std::string name() const override { return "cross_entropy_backward"; }
  void release_saved() override {
    state.log_probs = Tensor();
    state.denominator = Tensor();
    target.release();
    weight.release();
  }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    CrossEntropySaved s = state;
    s.target = target.get("cross_entropy_backward");
    s.weight = weight.get("cross_entropy_backward");
    return {raw::cross_entropy_backward(grads[0], s)};
  }
};

// ---- normalisation, dropout and activations

// Gradients for (x, weight, bias); weight's and bias's come flat from the op and take their
// input's shape and dtype here.
struct NormBackward : Node {
  SavedTensor x, weight, mean, scale;  // scale: layer norm's rstd, batch norm's invstd
  Shape weight_shape, bias_shape;
  DType weight_dtype = DType::Float32, bias_dtype = DType::Float32;
  void release_saved() override {
    x.release();
    weight.release();
    mean.release();
    scale.release();
  }
  virtual NormGrads run(const Tensor& g, bool want_weight, bool want_bias) = 0;
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    const bool want_weight = next[1].valid(), want_bias = next[2].valid();
    NormGrads r = run(grads[0], want_weight, want_bias);
    return {next[0].valid() ? r.x : Tensor(),
            want_weight ? raw::to_dtype(raw::reshape(r.weight, weight_shape), weight_dtype) : Tensor(),
            want_bias ? raw::to_dtype(raw::reshape(r.bias, bias_shape), bias_dtype) : Tensor()};
  }
  void save(const Tensor& in, const Tensor& w, const Tensor& b, const Tensor& m, const Tensor& s) {
    x = SavedTensor(in);
    weight = SavedTensor(w);
    mean = SavedTensor(m);
    scale = SavedTensor(s);
    if (w.defined()) {
      weight_shape = w.shape();
      weight_dtype = w.dtype();
    }
    if (b.defined()) {
      bias_shape = b.shape();
      bias_dtype = b.dtype();
    }
  }
};

struct LayerNormBackward final : NormBackward {
  int64_t normalized_dims = 1;
  std::string name() const override { return "layer_norm_backward"; }
  NormGrads run(const Tensor& g, bool want_weight, bool want_bias) override {
    const char* n = "layer_norm_backward";
    return raw::layer_norm_backward(g, x.get(n), normalized_dims, weight.get(n), mean.get(n), scale.get(n),
                                    want_weight, want_bias);
  }
};

struct BatchNormBackward final : NormBackward {
  bool batch_statistics = true;
  std::string name() const override { return "batch_norm_backward"; }
  NormGrads run(const Tensor& g, bool want_weight, bool want_bias) override {
    const char* n = "batch_norm_backward";
    return raw::batch_norm_backward(g, x.get(n), weight.get(n), mean.get(n), scale.get(n), batch_statistics,
                                    want_weight, want_bias);
  }
};

struct DropoutBackward final : Node {
  double p = 0;
  uint64_t seed = 0, offset = 0;
  std::string name() const override { return "dropout_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::dropout_backward(grads[0], p, seed, offset)};
  }
};

struct ActivationBackward final : Node {
  ActivationOp op = ActivationOp::Gelu;
  double param = 0;
  SavedTensor x;
  std::string name() const override { return std::string(activation_name(op)) + "_backward"; }
  void release_saved() override { x.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::activation_backward(op, x.get(activation_name(op)), grads[0], param)};
  }
};

Tensor activation_with_history(ActivationOp op, const Tensor& x, double param) {
  Tensor out = raw::activation(op, x, param);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<ActivationBackward>({&x});
  node->op = op;
  node->param = param;
  node->x = SavedTensor(x);
  set_history({out}, node);
  return out;
}

struct LinearBackward final : Node {
  SavedTensor x, w, bias, out;  // out: Relu only
  LinearActivation act = LinearActivation::None;
  std::string name() const override { return "linear_backward"; }
  void release_saved() override { x.release(); w.release(); bias.release(); out.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    const char* n = "linear_backward";
    LinearGrads g = raw::linear_backward(grads[0], out.get(n), x.get(n), w.get(n), bias.get(n), act, next[0].valid(),
                                         next[1].valid(), next[2].valid());
    return {g.x, g.w, g.bias};
  }
};

struct PointwiseLossBackward final : Node {
  PointwiseLoss loss;
  SavedTensor input, target, weight, pos_weight;
  std::string name() const override { return std::string(loss.name) + "_backward"; }
  void release_saved() override { input.release(); target.release(); weight.release(); pos_weight.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor()};
    const std::string n = name();
    auto [gi, gt] = raw::pointwise_loss_backward(loss, grads[0], input.get(n.c_str()), target.get(n.c_str()),
                                                 weight.get(n.c_str()), pos_weight.get(n.c_str()), next[0].valid(),
                                                 next[1].valid());
    return {gi, gt};
  }
};

struct DistillationBackward final : Node {
  SavedTensor student, teacher;
  double temperature = 1;
  Reduction reduction = Reduction::BatchMean;
  std::string name() const override { return "distillation_loss_backward"; }
  void release_saved() override { student.release(); teacher.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor()};
    const char* n = "distillation_loss_backward";
    auto [gs, gt] = raw::distillation_loss_backward(grads[0], student.get(n), teacher.get(n), temperature, reduction,
                                                    next[0].valid(), next[1].valid());
    return {gs, gt};
  }
};

}  // namespace

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  int64_t lead = grad.dim() - int64_t(shape.size());
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) axes.push_back(d);
  Tensor summed = axes.empty() ? grad : raw::reduce(ReduceOp::Sum, grad, axes, true);
  return raw::reshape(summed, shape);
}

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
  return autograd::binary(op, a, scalar_tensor(b, result_type(a.dtype(), b), a.device()));
}
Tensor binary(BinaryOp op, Scalar a, const Tensor& b) {
  return autograd::binary(op, scalar_tensor(a, result_type(b.dtype(), a), b.device()), b);
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

Tensor reduce(ReduceOp op, const Tensor& x, const std::optional<std::vector<int64_t>>& axes, bool keepdims, int64_t ddof) {
  Tensor out = raw::reduce(op, x, axes, keepdims, ddof);
  if (!any_requires_grad({&x}) || !is_floating(out.dtype())) return out;
  auto node = make_node<ReduceBackward>({&x});
  node->op = op;
  node->x = SavedTensor(x);
  if (op == ReduceOp::Max || op == ReduceOp::Min || op == ReduceOp::Prod) node->result = SavedTensor(out);
  node->axes = reduced_axes(axes, x.dim(), reduce_name(op));
  node->keepdims = keepdims;
  node->ddof = ddof;
  set_history({out}, node);
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = raw::matmul(a, b);
  if (!any_requires_grad({&a, &b})) return out;
  auto node = make_node<MatmulBackward>({&a, &b});
  node->a = SavedTensor(a);
  node->b = SavedTensor(b);
  set_history({out}, node);
  return out;
}

namespace {
Tensor with_reshape_history(const Tensor& x, Tensor out) {
  if (!any_requires_grad({&x})) return out;
  if (out.is_same(x)) out = x.as_strided(x.shape(), x.strides(), x.offset());  // a new handle to carry history
  auto node = make_node<ReshapeBackward>({&x});
  node->input_shape = x.shape();
  set_history({out}, node);
  return out;
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) { return with_reshape_history(x, raw::reshape(x, shape)); }
Tensor view(const Tensor& x, const Shape& shape) { return with_reshape_history(x, raw::view(x, shape)); }
Tensor squeeze(const Tensor& x, std::optional<int64_t> axis) {
  return with_reshape_history(x, axis ? raw::squeeze(x, *axis) : raw::squeeze(x));
}
Tensor unsqueeze(const Tensor& x, int64_t axis) { return with_reshape_history(x, raw::unsqueeze(x, axis)); }
Tensor contiguous(const Tensor& x) { return with_reshape_history(x, raw::contiguous(x)); }
Tensor clone(const Tensor& x) { return with_reshape_history(x, raw::clone(x)); }

Tensor permute(const Tensor& x, const std::vector<int64_t>& axes) {
  Tensor out = raw::permute(x, axes);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<PermuteBackward>({&x});
  node->inverse.assign(axes.size(), 0);
  for (size_t i = 0; i < axes.size(); ++i) node->inverse[normalize_axis(axes[i], x.dim(), "permute")] = int64_t(i);
  set_history({out}, node);
  return out;
}

Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1) {
  if (x.dim() == 0) return x;
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = i;
  std::swap(axes[normalize_axis(axis0, x.dim(), "transpose")], axes[normalize_axis(axis1, x.dim(), "transpose")]);
  return autograd::permute(x, axes);
}

Tensor matrix_transpose(const Tensor& x) {
  std::vector<int64_t> axes(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) axes[i] = x.dim() - 1 - i;
  return autograd::permute(x, axes);
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  return with_reshape_history(x, raw::flatten(x, start_axis, end_axis));
}

Tensor expand(const Tensor& x, const Shape& shape, const char* op) {
  Tensor out = raw::expand(x, shape, op);
  if (!any_requires_grad({&x})) return out;
  if (out.is_same(x)) out = x.as_strided(x.shape(), x.strides(), x.offset());
  auto node = make_node<ExpandBackward>({&x});
  node->input_shape = x.shape();
  set_history({out}, node);
  return out;
}

Tensor index(const Tensor& x, const std::vector<TensorIndex>& idx) {
  Tensor out = raw::index(x, idx);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<IndexBackward>({&x});
  node->input_shape = x.shape();
  node->dtype = x.dtype();
  node->device = x.device();
  node->idx = idx;
  set_history({out}, node);
  return out;
}

namespace {
Tensor concat_impl(const std::vector<Tensor>& xs, int64_t axis, bool stacked) {
  Tensor out = stacked ? raw::stack(xs, axis) : raw::concatenate(xs, axis);
  bool any = false;
  for (const Tensor& x : xs) any |= any_requires_grad({&x});
  if (!any) return out;
  auto node = std::make_shared<ConcatBackward>();
  node->stacked = stacked;
  node->axis = normalize_axis(axis, out.dim(), stacked ? "stack" : "concatenate");
  for (const Tensor& x : xs) {
    node->next.push_back(gradient_edge(x));
    node->sizes.push_back(stacked ? 1 : x.shape()[node->axis]);
  }
  set_history({out}, node);
  return out;
}
}  // namespace

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) { return concat_impl(xs, axis, false); }
Tensor stack(const std::vector<Tensor>& xs, int64_t axis) { return concat_impl(xs, axis, true); }

Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  Tensor out = raw::softmax(x, axis, log);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<SoftmaxBackward>({&x});
  node->result = SavedTensor(out);
  node->axis = axis;
  node->log = log;
  set_history({out}, node);
  return out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     Reduction reduction, double label_smoothing) {
  if (!any_requires_grad({&logits}))
    return raw::cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing);
  CrossEntropySaved saved;
  Tensor out = raw::cross_entropy(logits, target, weight, ignore_index, reduction, label_smoothing, &saved);
  auto node = make_node<CrossEntropyBackward>({&logits});
  node->target = SavedTensor(saved.target);
  node->weight = SavedTensor(saved.weight);
  saved.target = Tensor();
  saved.weight = Tensor();
  node->state = std::move(saved);
  set_history({out}, node);
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype, bool copy) {
  Tensor out = raw::to_dtype(x, dtype, copy);
  if (out.is_same(x) || !any_requires_grad({&x}) || !is_floating(dtype)) return out;
  auto node = make_node<ConvertBackward>({&x});
  node->dtype = x.dtype();
  node->device = x.device();
  set_history({out}, node);
  return out;
}

Tensor to_device(const Tensor& x, Device device, bool copy) {
  Tensor out = raw::to_device(x, device, copy);
  if (out.is_same(x) || !any_requires_grad({&x})) return out;
  auto node = make_node<ConvertBackward>({&x});
  node->dtype = x.dtype();
  node->device = x.device();
  set_history({out}, node);
  return out;
}

// --- convolution and pooling
namespace {

struct Conv2dBackward final : Node {
  SavedTensor x, w;
  Conv2dParams params;
  std::string name() const override { return "conv2d_backward"; }
  void release_saved() override { x.release(); w.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor(), Tensor(), Tensor()};
    Conv2dGrads g = raw::conv2d_backward(grads[0], x.get("conv2d_backward"), w.get("conv2d_backward"), params,
                                         next[0].valid(), next[1].valid(), next[2].valid());
    return {g.x, g.w, g.bias};
  }
};

struct MaxPool2dBackward final : Node {
  SavedTensor indices;
  Pool2dParams params;
  Shape x_shape;
  DType x_dtype;
  std::string name() const override { return "max_pool2d_backward"; }
  void release_saved() override { indices.release(); }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::max_pool2d_backward(grads[0], indices.get("max_pool2d_backward"), params, x_shape, x_dtype)};
  }
};

struct AvgPool2dBackward final : Node {
  Pool2dParams params;
  Shape x_shape;
  DType x_dtype;
  std::string name() const override { return "avg_pool2d_backward"; }
  std::vector<Tensor> apply(const std::vector<Tensor>& grads) override {
    if (!grads[0].defined()) return {Tensor()};
    return {raw::avg_pool2d_backward(grads[0], params, x_shape, x_dtype)};
  }
};

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p) {
  Tensor out = raw::conv2d(x, w, bias, p);
  if (!any_requires_grad({&x, &w, &bias})) return out;
  auto node = make_node<Conv2dBackward>({&x, &w, &bias});
  node->x = SavedTensor(x);
  node->w = SavedTensor(w);
  node->params = p;
  set_history({out}, node);
  return out;
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  if (!any_requires_grad({&x})) return raw::max_pool2d(x, p);
  Tensor indices;
  Tensor out = raw::max_pool2d(x, p, &indices);
  auto node = make_node<MaxPool2dBackward>({&x});
  node->indices = SavedTensor(indices);
  node->params = p;
  node->x_shape = x.shape();
  node->x_dtype = x.dtype();
  set_history({out}, node);
  return out;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  Tensor out = raw::avg_pool2d(x, p);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<AvgPool2dBackward>({&x});
  node->params = p;
  node->x_shape = x.shape();
  node->x_dtype = x.dtype();
  set_history({out}, node);
  return out;
}

// ---- normalisation, dropout and activations

Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps) {
  if (!any_requires_grad({&x, &weight, &bias})) return raw::layer_norm(x, normalized_dims, weight, bias, eps);
  Tensor mean, rstd;
  Tensor out = raw::layer_norm(x, normalized_dims, weight, bias, eps, &mean, &rstd);
  auto node = make_node<LayerNormBackward>({&x, &weight, &bias});
  node->normalized_dims = normalized_dims;
  node->save(x, weight, bias, mean, rstd);
  set_history({out}, node);
  return out;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  if (!any_requires_grad({&x, &weight, &bias}))
    return raw::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps);
  Tensor mean, invstd;
  Tensor out = raw::batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps, &mean, &invstd);
  auto node = make_node<BatchNormBackward>({&x, &weight, &bias});
  node->batch_statistics = training || !running_mean.defined();
  node->save(x, weight, bias, mean, invstd);
  set_history({out}, node);
  return out;
}

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!training || p == 0) {
    // The checks still run, so a bad p fails in eval mode too.
    AM_CHECK(is_floating(x.dtype()), TypeError, "dropout: needs a floating input, got ", x.describe());
    AM_CHECK(p >= 0.0 && p <= 1.0, ValueError, "dropout: probability p must be in [0, 1], got ", p);
    return x;
  }
  uint64_t seed = 0, offset = 0;
  Tensor out = raw::dropout(x, p, &seed, &offset);
  if (!any_requires_grad({&x})) return out;
  auto node = make_node<DropoutBackward>({&x});
  node->p = p;
  node->seed = seed;
  node->offset = offset;
  set_history({out}, node);
  return out;
}

Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return activation_with_history(tanh_approximation ? ActivationOp::GeluTanh : ActivationOp::Gelu, x, 0);
}
Tensor silu(const Tensor& x) { return activation_with_history(ActivationOp::Silu, x, 0); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return activation_with_history(ActivationOp::LeakyRelu, x, negative_slope);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, LinearActivation act) {
  Tensor out = raw::linear(x, w, bias, act);
  if (!any_requires_grad({&x, &w, &bias})) return out;
  auto node = make_node<LinearBackward>({&x, &w, &bias});
  node->x = SavedTensor(x);
  node->w = SavedTensor(w);
  node->bias = SavedTensor(bias);
  if (act == LinearActivation::Relu) node->out = SavedTensor(out);
  node->act = act;
  set_history({out}, node);
  return out;
}

namespace {

Tensor record_pointwise_loss(const PointwiseLoss& loss, const Tensor& input, const Tensor& target,
                             const Tensor& weight = Tensor(), const Tensor& pos_weight = Tensor()) {
  Tensor out = raw::pointwise_loss(loss, input, target, weight, pos_weight);
  const bool target_grad = loss.kind != LossKind::BceWithLogits;
  if (!any_requires_grad({&input, target_grad ? &target : nullptr})) return out;
  auto node = std::make_shared<PointwiseLossBackward>();
  node->next = {gradient_edge(input), target_grad ? gradient_edge(target) : Edge()};
  node->loss = loss;
  node->input = SavedTensor(input);
  node->target = SavedTensor(target);
  node->weight = SavedTensor(weight);
  node->pos_weight = SavedTensor(pos_weight);
  set_history({out}, node);
  return out;
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return record_pointwise_loss({LossKind::Mse, reduction, 0.0, "mse_loss"}, input, target);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  return record_pointwise_loss({LossKind::L1, reduction, 0.0, "l1_loss"}, input, target);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction) {
  return record_pointwise_loss({LossKind::Huber, reduction, delta, "huber_loss"}, input, target);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
  return record_pointwise_loss({LossKind::BceWithLogits, reduction, 0.0, "binary_cross_entropy_with_logits"}, input,
                               target, weight, pos_weight);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  const LossKind kind = log_target ? LossKind::KlDivLogTarget : LossKind::KlDiv;
  return record_pointwise_loss({kind, reduction, 0.0, "kl_div"}, input, target);
}

Tensor distillation_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature,
                         Reduction reduction) {
  Tensor out = raw::distillation_loss(student_logits, teacher_logits, temperature, reduction);
  if (!any_requires_grad({&student_logits, &teacher_logits})) return out;
  auto node = make_node<DistillationBackward>({&student_logits, &teacher_logits});
  node->student = SavedTensor(student_logits);
  node->teacher = SavedTensor(teacher_logits);
  node->temperature = temperature;
  node->reduction = reduction;
  set_history({out}, node);
  return out;
}

}  // namespace aimass::autograd
