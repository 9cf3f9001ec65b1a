#include "nn/training.h"

#include <chrono>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/error.h"
#include "ops/convert.h"
#include "ops/creation.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/shape.h"
#include "quant/prune.h"

namespace aimass::nn {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void check_batch_size(int64_t batch_size, const char* op) {
  AM_CHECK(batch_size > 0, ValueError, op, ": batch_size must be positive, got ", batch_size);
}

struct Accumulator {
  Tensor loss_sum;  // 0-d float64 on the loss's device: no host sync per batch
  int64_t samples = 0;
  void add(const Tensor& loss, int64_t n) {
    Tensor weighted = binary(BinaryOp::Mul, to_dtype(loss, DType::Float64), Scalar::from_int(n));
    loss_sum = loss_sum.defined() ? binary(BinaryOp::Add, loss_sum, weighted) : weighted;
    samples += n;
  }
  double mean() const { return loss_sum.defined() && samples ? item(loss_sum).f / double(samples) : 0.0; }
};

bool call_hook(const BatchHook& hook, int64_t batch, int64_t batches, const Accumulator& acc) {
  if (!hook.fn) return true;
  if ((batch + 1) % std::max<int64_t>(hook.every, 1) != 0 && batch + 1 != batches) return true;
  return hook.fn(batch, acc.samples, acc.mean());
}

void finish(EpochLogs& logs, const Accumulator& acc, const std::vector<metrics::StreamingMetric*>& metrics,
            std::chrono::steady_clock::time_point start) {
  logs.loss = acc.mean();
  logs.samples = acc.samples;
  for (auto* m : metrics) logs.metrics.emplace_back(m->name(), m->result());
  logs.seconds = seconds_since(start);
}

// The model in use for the whole run (no structural change lands between batches), in the
// given mode for this thread only (a concurrent predict does not switch a fit to eval mode).
struct RunGuard {
  Module::InUse use;
  ModeScope mode;
  RunGuard(Module& m, bool training) : use(m), mode(training) {}
};

}  // namespace

EpochLogs train_epoch(Module& model, const Loss& loss, optim::Optimizer& optimizer,
                      const std::vector<metrics::StreamingMetric*>& metrics, data::BatchSource& batches,
                      double clip_grad_norm, const BatchHook& hook) {
  auto start = std::chrono::steady_clock::now();
  RunGuard run(model, true);
  autograd::GradModeGuard grad_on(true);
  for (auto* m : metrics) m->reset();
  std::vector<Tensor> params;
  for (size_t g = 0; g < optimizer.num_groups(); ++g)
    params.insert(params.end(), optimizer.params(g).begin(), optimizer.params(g).end());
  AM_CHECK(!params.empty(), ValueError, "fit: the optimizer has no parameters (was it created before the model was built?)");
  // Pruned weights stay pruned (quant/prune.h): collected once per epoch, empty for most models.
  const std::vector<quant::MaskedParameter> masked = quant::masked_parameters(model);
  EpochLogs logs;
  Accumulator acc;
  int64_t total = batches.num_batches();
  const uint64_t epoch = batches.start_epoch();
  Tensor xb, yb;
  for (int64_t b = 0; batches.next_in(epoch, xb, yb); ++b) {
    optimizer.zero_grad();
    Tensor out = model.call(xb);
    Tensor value = loss.compute(out, yb);
    autograd::backward({value}, {Tensor()}, false);
    if (clip_grad_norm > 0) optim::clip_grad_norm_(params, clip_grad_norm);
    optimizer.step();
    if (!masked.empty()) quant::apply_masks(masked);
    {
      autograd::GradModeGuard no_grad(false);
      acc.add(value, xb.size(0));
      for (auto* m : metrics) m->update(out, yb);
    }
    logs.batches = b + 1;
    if (!call_hook(hook, b, total, acc)) {
      logs.stopped = true;
      break;
    }
  }
  optimizer.zero_grad();  // the last gradients are not kept alive between epochs
  finish(logs, acc, metrics, start);
  return logs;
}

EpochLogs evaluate(Module& model, const Loss& loss, const std::vector<metrics::StreamingMetric*>& metrics,
                   data::BatchSource& batches, const BatchHook& hook) {
  auto start = std::chrono::steady_clock::now();
  RunGuard run(model, false);
  autograd::GradModeGuard no_grad(false);
  for (auto* m : metrics) m->reset();
  EpochLogs logs;
  Accumulator acc;
  int64_t total = batches.num_batches();
  const uint64_t epoch = batches.start_epoch();
  Tensor xb, yb;
  for (int64_t b = 0; batches.next_in(epoch, xb, yb); ++b) {
    Tensor out = model.call(xb);
    acc.add(loss.compute(out, yb), xb.size(0));
    for (auto* m : metrics) m->update(out, yb);
    logs.batches = b + 1;
    if (!call_hook(hook, b, total, acc)) {
      logs.stopped = true;
      break;
    }
  }
  finish(logs, acc, metrics, start);
  return logs;
}

Tensor predict(Module& model, const Tensor& x, int64_t batch_size) {
  check_batch_size(batch_size, "predict");
  AM_CHECK(x.defined() && x.dim() >= 1 && x.size(0) > 0, ValueError, "predict: x must be a non-empty batch, got ",
           x.defined() ? x.describe() : "None");
  RunGuard run(model, false);
  autograd::GradModeGuard no_grad(false);
  std::vector<Tensor> outputs;
  int64_t n = x.size(0);
  for (int64_t begin = 0; begin < n; begin += batch_size)
    outputs.push_back(model.call(index(x, {TensorIndex::slice(begin, std::min(n, begin + batch_size), 1)})));
  return outputs.size() == 1 ? outputs[0] : concatenate(outputs, 0);
}

}  // namespace aimass::nn
