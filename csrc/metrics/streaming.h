// Metrics accumulated batch by batch in the native training loop (called from C++ with the
// GIL released). Each keeps float64 running sums, so result() over many batches equals the
// one-shot function on the concatenated batches.
//
//   auto acc = make_streaming_metric("accuracy");
//   for (batch ...) acc->update(logits, labels);   // logits (N, C), labels (N,) int
//   history[acc->name()].push_back(acc->result());  // "accuracy"
//
// Names: "accuracy" (argmax of (N, C) outputs, C > 1; (N,) / (N, 1) outputs are logits,
// positive iff > 0), "binary_accuracy" (every output element is a logit, positive iff > 0,
// compared elementwise with y_true > 0.5), "top_k_accuracy" (k = 5) or "top_<k>_accuracy",
// "mse" / "mean_squared_error", "mae" / "mean_absolute_error". Anything else: ValueError.
// y_true may be (N,) class ids or (N, C) one-hot / probabilities (argmax taken) for the
// accuracies, floats of y_pred's element count for mse / mae. Any device: read on the CPU.
// result() before any sample is NaN.
#pragma once
#include <memory>
#include <string>

#include "core/tensor.h"

namespace aimass::metrics {

class StreamingMetric {
 public:
  virtual ~StreamingMetric() = default;
  // y_pred: the model's output for a batch (N, C) logits/probabilities, or (N,) / (N, 1) scores; y_true: (N,) int class ids,
  // or (N, C) one-hot / probabilities, or floats for regression. Any device (copy to CPU inside if needed).
  virtual void update(const Tensor& y_pred, const Tensor& y_true) = 0;
  virtual double result() const = 0;   // over everything since reset()
  virtual void reset() = 0;
  virtual std::string name() const = 0;  // the key in History: "accuracy", "top_5_accuracy", "mse", ...
};

std::unique_ptr<StreamingMetric> make_streaming_metric(const std::string& name);

}  // namespace aimass::metrics
