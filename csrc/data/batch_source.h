// The interface between a data pipeline and the native training loop: a stream of (x, y)
// minibatches, one epoch at a time, assembled in C++ (optionally ahead, on a background thread).
#pragma once
#include <cstdint>
#include <memory>

#include "core/tensor.h"

namespace aimass::data {

// A stream of (x, y) minibatches, one epoch at a time. x: (B, ...), y: (B, ...) (class ids int64 (B,), or float
// (B, C) soft targets after mixup / label smoothing), on the source's device.
//
// Threads: one source is one stream. Calls from several threads are serialised; each epoch has
// a number, and a consumer that asks for batches of an epoch that another start_epoch has
// superseded gets a RuntimeError saying so (not another consumer's batches, not a hang).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // A new order (shuffled from the seeded generator, am.manual_seed) and restart; may start
  // prefetching. Returns the new epoch's number (1, 2, ...).
  virtual uint64_t start_epoch() = 0;
  virtual bool next(Tensor& x, Tensor& y) = 0;    // the current epoch's next batch; false once it is done
  // Epoch `epoch`'s next batch; RuntimeError when a later start_epoch has superseded it.
  virtual bool next_in(uint64_t epoch, Tensor& x, Tensor& y) = 0;
  virtual int64_t num_batches() const = 0;        // per epoch
  virtual int64_t num_samples() const = 0;        // per epoch (after drop_last)
};

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;
  int64_t prefetch = 2;          // batches assembled ahead by a background C++ thread (0: synchronous)
  // Augmentation for image batches x (B, C, H, W) floating, applied per batch when set:
  bool random_flip = false;      // horizontal, p = 0.5 per sample
  int64_t random_crop = 0;       // pad by this many pixels (zeros) then crop back to H x W at a random offset
  double mixup_alpha = 0;        // > 0: mixup with Beta(alpha, alpha); y becomes (B, C) soft targets (needs num_classes)
  double label_smoothing = 0;    // > 0: y becomes (B, C) soft targets (needs num_classes)
  int64_t num_classes = 0;
};

// In-memory arrays x (N, ...) and y (N, ...) (same N); uint8 images may be converted/normalised by the Python layer first.
std::shared_ptr<BatchSource> make_array_loader(const Tensor& x, const Tensor& y, const LoaderOptions& options);

}  // namespace aimass::data
