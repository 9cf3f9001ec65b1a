// DynamicBatcher: the dynamic batcher of one served model version, as Triton's.
//
//   requests  r1 (2 rows)  r2 (1 row)  r3 (4 rows)      -> queue (FIFO)
//   a worker  takes r1 r2 r3 (7 rows <= max_batch_size), concatenates each input along dim 0,
//             runs the model once on (7, ...), and hands r1 rows [0, 2), r2 [2, 3), r3 [3, 7)
//             of every output back through each request's `done`.
//
// When a batch runs: as soon as the queued rows reach max_batch_size or one of the
// preferred_batch_sizes, or when the oldest request has waited max_queue_delay_us (so at low
// load no request waits longer than that for company). Requests are only batched with requests
// of the same key (the k-NN parameters, say) and the same per-row input shapes and dtypes; the
// batch stops at the first request that differs, so the order stays first in, first out.
//
// instance_count workers run batches in parallel (Triton's model instances); each runs the
// runner with no lock held, so the runner must be safe to call from many threads (our modules
// and indexes are). Workers are C++ threads: no Python, no GIL, unless the runner or `done`
// enter Python themselves (the bindings' `done` takes the GIL).
//
// A request is answered exactly once: with its outputs, or with an error (the runner's, a
// timeout in the queue, or the batcher stopping without drain). submit() refuses at once, and
// never calls `done`, when the queue is full (max_queue_size) or the batcher is stopped.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor.h"

namespace aimass::serve {

using Clock = std::chrono::steady_clock;

struct BatcherOptions {
  int64_t max_batch_size = 32;                 // rows in one execution; >= 1
  std::vector<int64_t> preferred_batch_sizes;  // run as soon as the queued rows equal one of these
  int64_t max_queue_delay_us = 100;            // the longest the oldest request waits for more rows
  int64_t max_queue_size = 0;                  // requests waiting at most; 0: no bound
  int64_t default_timeout_us = 0;              // a request's time in the queue at most; 0: none
  int64_t instance_count = 1;                  // batches run in parallel; >= 1
};

// Why a request failed (the server maps these onto status codes).
enum class FailureKind : uint8_t { None, BadInput, Timeout, Stopped, Internal };

struct Completion {
  std::vector<Tensor> outputs;  // one per model output, each (rows, ...): views of the batch's outputs
  FailureKind failure = FailureKind::None;
  std::string error;            // the message when failure != None
  int64_t queue_us = 0;         // time from submit to the batch's start
  int64_t compute_us = 0;       // the batch's gather + run + split time
  int64_t batch_rows = 0;       // rows of the batch this request ran in
};

using Done = std::function<void(Completion&&)>;

struct Request {
  std::vector<Tensor> inputs;  // one per model input, each (rows, ...); the same rows for all
  std::string key;             // batched only with requests of the same key
  int64_t timeout_us = -1;     // -1: the batcher's default_timeout_us; 0: none
  Done done;
};

// The model: one batch (each input (rows, ...)) and the key its requests share -> the outputs,
// each (rows, ...). Throwing fails every request of the batch with the message.
using Runner = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const std::string& key)>;

enum class SubmitStatus : uint8_t { Queued, QueueFull, Stopped };

struct BatcherStats {
  int64_t success = 0, failure = 0;   // requests answered
  int64_t inference_count = 0;        // rows answered successfully
  int64_t execution_count = 0;        // batches run
  int64_t pending = 0;                // requests queued or running now
  int64_t queue_us = 0, compute_us = 0;  // summed over answered requests
  std::map<int64_t, int64_t> batch_sizes;  // rows per batch -> batches run
  std::map<int64_t, int64_t> batch_compute_us;  // rows per batch -> time those batches ran
};

class DynamicBatcher {
 public:
  // ValueError on an option out of range (naming it).
  DynamicBatcher(Runner runner, BatcherOptions options);
  ~DynamicBatcher();  // stop(true)
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // ValueError (and `done` is not called) when the request's inputs are not a batch: no inputs,
  // an undefined one, a 0-dim one, differing rows, zero rows, or more rows than max_batch_size.
  SubmitStatus submit(Request request);
  // Stops accepting. drain: the queued requests still run; else they fail with Stopped. Waits
  // for the workers to finish. Idempotent.
  void stop(bool drain = true);
  bool stopped() const { return stopping_.load(); }

  const BatcherOptions& options() const { return options_; }
  BatcherStats stats() const;

 private:
  struct Queued {
    Request request;
    int64_t rows;
    Clock::time_point enqueued, deadline;  // deadline == time_point::max(): none
  };
  void work();
  // With mu_ held: the number of queued requests (from the front) that may run together, and
  // their rows.
  std::pair<size_t, int64_t> compatible_prefix() const;
  bool batch_ready(int64_t rows, size_t count) const;
  void fail_expired(std::unique_lock<std::mutex>& lock);
  void run_batch(std::vector<Queued>& batch);
  void finish(Queued& q, Completion&& c);

  Runner runner_;
  BatcherOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  std::atomic<bool> stopping_{false};
  bool drain_ = true;
  std::vector<std::thread> workers_;
  std::mutex stop_mu_;  // one stop() joins the workers

  mutable std::mutex stats_mu_;
  BatcherStats stats_;
};

}  // namespace aimass::serve
