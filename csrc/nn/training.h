// The native training loop behind Model.fit / evaluate / predict: whole epochs in C++ (the
// bindings release the GIL), so a model made of native layers trains without Python in the
// loop. Python is reached only through the batch hook (progress bars, callbacks, Ctrl-C) and,
// for a model subclassed in Python, through its forward.
//
// Batches come from a data::BatchSource (in-memory arrays, shuffled and prefetched in C++, or a
// folder of images with augmentation): see csrc/data/batch_source.h.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/batch_source.h"
#include "metrics/streaming.h"
#include "nn/loss.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace aimass::nn {

struct EpochLogs {
  double loss = 0;                                      // mean over samples (weighted by batch size)
  std::vector<std::pair<std::string, double>> metrics;  // name -> value, in the order given
  int64_t samples = 0;
  int64_t batches = 0;
  double seconds = 0;
  bool stopped = false;                                 // the hook asked to stop (Ctrl-C, a callback)
};

// Called after each batch that is a multiple of `every` (and after the last), with the batch
// index, the samples seen so far this epoch and their mean loss. Returns false to stop after
// this step: the model is left consistent (the step is complete).
struct BatchHook {
  std::function<bool(int64_t batch, int64_t samples, double mean_loss)> fn;
  int64_t every = 1;
};

// One epoch of minibatch training: forward, loss, backward, (gradient clipping by global norm
// when clip_grad_norm > 0), optimizer step, metrics.
EpochLogs train_epoch(Module& model, const Loss& loss, optim::Optimizer& optimizer,
                      const std::vector<metrics::StreamingMetric*>& metrics, data::BatchSource& batches,
                      double clip_grad_norm, const BatchHook& hook);

// Loss and metrics over every batch in eval mode, without gradients. The model's mode is restored.
EpochLogs evaluate(Module& model, const Loss& loss, const std::vector<metrics::StreamingMetric*>& metrics,
                   data::BatchSource& batches, const BatchHook& hook);

// The model's outputs for x in eval mode, batch by batch, concatenated: (N, ...).
Tensor predict(Module& model, const Tensor& x, int64_t batch_size);

}  // namespace aimass::nn
