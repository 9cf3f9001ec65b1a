// Merge layers of the functional API (Keras's Add, Subtract, Multiply, Average, Maximum,
// Minimum, Concatenate): layers with several inputs and no weights, computed by the
// differentiable ops of autograd/functions.h. A Graph (nn/graph.h) calls merge() with the
// outputs of the nodes feeding it; forward(x) with one tensor is a TypeError.
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"

namespace aimass::nn {

class MergeLayer : public Module {
 public:
  explicit MergeLayer(std::string type_name) : Module(std::move(type_name)) { set_built(); }
  // xs: two or more tensors (Subtract: exactly two) -> one tensor.
  virtual Tensor merge(const std::vector<Tensor>& xs) const = 0;
  Tensor forward(const Tensor& x) override;  // TypeError: a merge layer takes a list of tensors
};

enum class MergeOp : uint8_t { Add, Subtract, Multiply, Average, Maximum, Minimum };
// "add" / "subtract" / "multiply" / "average" / "maximum" / "minimum"; ValueError otherwise.
MergeOp parse_merge_op(const std::string& name);

// Elementwise over inputs of one shape (broadcasting as the binary ops do):
// Add: x0 + x1 + ..., Subtract: x0 - x1, Multiply: x0 * x1 * ..., Average: (x0 + ...) / n,
// Maximum / Minimum: elementwise over all inputs.
class ElementwiseMerge : public MergeLayer {
 public:
  explicit ElementwiseMerge(MergeOp op);
  Tensor merge(const std::vector<Tensor>& xs) const override;
  MergeOp op() const { return op_; }

 private:
  MergeOp op_;
};

// Concatenate(axis): inputs equal in every dim but `axis` (negative from the end; Keras's
// default -1, the channels of (N, ..., C) or the features of (N, F)).
class Concatenate : public MergeLayer {
 public:
  explicit Concatenate(int64_t axis = -1) : MergeLayer("Concatenate"), axis_(axis) {}
  Tensor merge(const std::vector<Tensor>& xs) const override;
  std::string describe() const override;
  Config config() const override;
  int64_t axis() const { return axis_; }

 private:
  int64_t axis_;
};

}  // namespace aimass::nn
