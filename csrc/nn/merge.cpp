#include "nn/merge.h"

#include "autograd/functions.h"
#include "core/error.h"

namespace aimass::nn {

MergeOp parse_merge_op(const std::string& name) {
  if (name == "add") return MergeOp::Add;
  if (name == "subtract") return MergeOp::Subtract;
  if (name == "multiply") return MergeOp::Multiply;
  if (name == "average") return MergeOp::Average;
  if (name == "maximum") return MergeOp::Maximum;
  if (name == "minimum") return MergeOp::Minimum;
  throw ValueError(str_cat("unknown merge '", name, "' (expected add, subtract, multiply, average, maximum or minimum)"));
}

namespace ag = aimass::autograd;

namespace {

const char* merge_name(MergeOp op) {
  switch (op) {
    case MergeOp::Add: return "Add";
    case MergeOp::Subtract: return "Subtract";
    case MergeOp::Multiply: return "Multiply";
    case MergeOp::Average: return "Average";
    case MergeOp::Maximum: return "Maximum";
    case MergeOp::Minimum: return "Minimum";
  }
  return "?";
}

void check_inputs(const std::vector<Tensor>& xs, const std::string& layer) {
  AM_CHECK(xs.size() >= 2, ValueError, layer, ": a merge layer takes a list of at least 2 tensors, got ", xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    AM_CHECK(xs[i].defined(), ValueError, layer, ": input ", i, " is None");
}

}  // namespace

Tensor MergeLayer::forward(const Tensor& x) {
  throw TypeError(str_cat(type_name(), ": a merge layer is called with a list of tensors, e.g. ", type_name(),
                          "()([a, b]), got one tensor ", x.defined() ? x.describe() : "None"));
}

ElementwiseMerge::ElementwiseMerge(MergeOp op) : MergeLayer(merge_name(op)), op_(op) {}

Tensor ElementwiseMerge::merge(const std::vector<Tensor>& xs) const {
  check_inputs(xs, type_name());
  AM_CHECK(op_ != MergeOp::Subtract || xs.size() == 2, ValueError, "Subtract: takes exactly 2 tensors, got ", xs.size());
  // Inputs of one shape: broadcasting is allowed by the ops, but a mismatch is more often a bug.
  for (size_t i = 1; i < xs.size(); ++i)
    AM_CHECK(xs[i].shape() == xs[0].shape(), ValueError, type_name(), ": inputs must have one shape, got ",
             xs[0].describe(), " and ", xs[i].describe());
  BinaryOp step = op_ == MergeOp::Subtract ? BinaryOp::Sub
                  : op_ == MergeOp::Multiply ? BinaryOp::Mul
                  : op_ == MergeOp::Maximum  ? BinaryOp::Maximum
                  : op_ == MergeOp::Minimum  ? BinaryOp::Minimum
                                             : BinaryOp::Add;
  Tensor y = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) y = ag::binary(step, y, xs[i]);
  if (op_ == MergeOp::Average) y = ag::binary(BinaryOp::Div, y, Scalar::from_int(int64_t(xs.size())));
  return y;
}

Tensor Concatenate::merge(const std::vector<Tensor>& xs) const {
  check_inputs(xs, type_name());
  return ag::concatenate(xs, axis_);
}

std::string Concatenate::describe() const { return str_cat("Concatenate(axis=", axis_, ")"); }

Config Concatenate::config() const { return {{"axis", axis_}}; }

}  // namespace aimass::nn
