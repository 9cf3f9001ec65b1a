#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "ops/convert.h"
#include "ops/shape.h"

namespace aimass {

const char* unary_name(UnaryOp op) {
  static constexpr const char* names[] = {"neg",  "abs",        "exp",   "log",   "sqrt", "tanh",
                                          "sigmoid", "relu",    "sign",  "square", "reciprocal",
                                          "rsqrt", "sin",        "cos",   "floor", "ceil", "round",
                                          "logical_not"};
  return names[int(op)];
}

const char* binary_name(BinaryOp op) {
  static constexpr const char* names[] = {"add", "subtract", "multiply", "divide", "power", "maximum",
                                          "minimum", "remainder", "equal", "not_equal", "less",
                                          "less_equal", "greater", "greater_equal", "logical_and",
                                          "logical_or"};
  return names[int(op)];
}

namespace {

bool is_transcendental(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp: case UnaryOp::Log: case UnaryOp::Sqrt: case UnaryOp::Tanh: case UnaryOp::Sigmoid:
    case UnaryOp::Reciprocal: case UnaryOp::Rsqrt: case UnaryOp::Sin: case UnaryOp::Cos:
      return true;
    default:
      return false;
  }
}

// The broadcast shape of the operands; the error names every operand in full.
Shape broadcast_operands(const char* op, std::initializer_list<const Tensor*> operands) {
  Shape shape;
  try {
    for (const Tensor* t : operands) shape = broadcast_shapes(shape, t->shape(), op);
  } catch (const ValueError&) {
    std::string names;
    for (const Tensor* t : operands) names += (names.empty() ? "" : ", ") + t->describe();
    throw ValueError(str_cat(op, ": operands ", names, " cannot be broadcast together"));
  }
  return shape;
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  AM_CHECK(a.device() == b.device(), RuntimeError, op, ": operands are on different devices: ", a.describe(),
           " and ", b.describe(), "; move one with .to(device)");
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  const char* name = unary_name(op);
  if (op == UnaryOp::LogicalNot) {
    Tensor out = Tensor::empty(x.shape(), DType::Bool, x.device());
    if (out.numel()) unary_kernel.on(x.device())(op, x, out);
    return out;
  }
  AM_CHECK(!(x.dtype() == DType::Bool && (op == UnaryOp::Neg || op == UnaryOp::Sign)), TypeError, name,
           ": not supported for bool tensors (", x.describe(), "); use logical_not");
  bool rounding = op == UnaryOp::Floor || op == UnaryOp::Ceil || op == UnaryOp::Round;
  if (rounding && !is_floating(x.dtype())) return clone(x);
  // Integer inputs of float functions compute in float32, as in PyTorch.
  Tensor in = is_transcendental(op) && !is_floating(x.dtype()) ? to_dtype(x, DType::Float32) : x;
  if (in.dtype() == DType::Bool) in = to_dtype(in, DType::Int64);  // abs / square / relu of bool
  Tensor out = Tensor::empty(in.shape(), in.dtype(), in.device());
  if (out.numel()) unary_kernel.on(in.device())(op, in, out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  check_same_device(name, a, b);
  Shape shape = broadcast_operands(name, {&a, &b});
  DType compute = promote_types(a.dtype(), b.dtype());
  if (op == BinaryOp::Div && !is_floating(compute)) compute = DType::Float32;  // true division
  if (compute == DType::Bool && !is_comparison(op)) {
    AM_CHECK(op != BinaryOp::Sub && op != BinaryOp::Pow && op != BinaryOp::Remainder, TypeError, name,
             ": not supported for bool tensors (", a.describe(), ", ", b.describe(), ")");
    if (op == BinaryOp::Add || op == BinaryOp::Mul || op == BinaryOp::Maximum || op == BinaryOp::Minimum) {
      // NumPy: bool + bool is logical or, bool * bool logical and.
      op = op == BinaryOp::Add || op == BinaryOp::Maximum ? BinaryOp::LogicalOr : BinaryOp::LogicalAnd;
    }
  }
  DType out_dtype = is_comparison(op) ? DType::Bool : compute;
  Tensor out = Tensor::empty(shape, out_dtype, a.device());
  if (out.numel() == 0) return out;
  Tensor ea = expand(to_dtype(a, compute), shape, name);
  Tensor eb = expand(to_dtype(b, compute), shape, name);
  binary_kernel.on(a.device())(op, ea, eb, out);
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, Scalar b) {
  return binary(op, a, scalar_tensor(b, result_type(a.dtype(), b), a.device()));
}

Tensor binary(BinaryOp op, Scalar a, const Tensor& b) {
  return binary(op, scalar_tensor(a, result_type(b.dtype(), a), b.device()), b);
}

void binary_inplace(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  Tensor r = binary(op, a, b);
  AM_CHECK(r.shape() == a.shape(), ValueError, name, " (in place): the result of ", a.describe(), " and ",
           b.describe(), " has shape ", r.shape(), ", not the shape of the tensor written to");
  bool changes_kind = (is_floating(r.dtype()) && !is_floating(a.dtype())) ||
                      (a.dtype() == DType::Bool && r.dtype() != DType::Bool);
  AM_CHECK(!changes_kind, TypeError, name, " (in place): the result type ", dtype_name(r.dtype()),
           " cannot be stored in ", a.describe());
  copy_into(a, r, name);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_same_device("where", cond, a);
  check_same_device("where", a, b);
  Shape shape = broadcast_operands("where", {&cond, &a, &b});
  DType dtype = promote_types(a.dtype(), b.dtype());
  Tensor out = Tensor::empty(shape, dtype, a.device());
  if (out.numel() == 0) return out;
  where_kernel.on(a.device())(expand(to_dtype(cond, DType::Bool), shape, "where"),
                              expand(to_dtype(a, dtype), shape, "where"), expand(to_dtype(b, dtype), shape, "where"),
                              out);
  return out;
}

Tensor clamp(const Tensor& x, Scalar lo, Scalar hi) {
  bool lo_set = !(lo.is_floating() && lo.f == -INFINITY), hi_set = !(hi.is_floating() && hi.f == INFINITY);
  AM_CHECK(lo_set || hi_set, ValueError, "clamp: at least one of min and max must be given");
  // Only the bounds given take part in promotion: clamp(int8, min=-2) stays int8.
  DType dtype = x.dtype();
  if (lo_set) dtype = result_type(dtype, lo);
  if (hi_set) dtype = result_type(dtype, hi);
  if (!is_floating(dtype)) {
    // Integer tensors with an unset float bound: keep the dtype, drop the infinite bound.
    dtype = x.dtype() == DType::Bool ? DType::Int64 : x.dtype();
    // Bounds outside the dtype's range are clipped to it, so converting them cannot wrap.
    visit_dtype(dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        int64_t min = int64_t(std::numeric_limits<T>::min()), max = int64_t(std::numeric_limits<T>::max());
        lo = Scalar::from_int(lo_set ? std::clamp(lo.i, min, max) : min);
        hi = Scalar::from_int(hi_set ? std::clamp(hi.i, min, max) : max);
      }
    });
  }
  Tensor in = to_dtype(x, dtype);
  Tensor out = Tensor::empty(in.shape(), dtype, in.device());
  if (out.numel()) clamp_kernel.on(in.device())(in, lo, hi, out);
  return out;
}

}  // namespace aimass
