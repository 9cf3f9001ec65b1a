#include "serve/batcher.h"

#include <algorithm>

#include "core/error.h"
#include "ops/index.h"
#include "ops/shape.h"

namespace aimass::serve {

namespace {

int64_t micros(Clock::duration d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); }

// Requests a and b may share a batch: the same key and, input by input, the same dtype,
// device and per-row shape.
bool same_batch_shape(const Request& a, const Request& b) {
  if (a.key != b.key || a.inputs.size() != b.inputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const Tensor &x = a.inputs[i], &y = b.inputs[i];
    if (x.dtype() != y.dtype() || x.device() != y.device() || x.dim() != y.dim()) return false;
    for (int64_t d = 1; d < x.dim(); ++d)
      if (x.size(d) != y.size(d)) return false;
  }
  return true;
}

FailureKind failure_of(const std::exception& e) {
  return dynamic_cast<const ValueError*>(&e) || dynamic_cast<const TypeError*>(&e) ? FailureKind::BadInput
                                                                                     : FailureKind::Internal;
}

}  // namespace

DynamicBatcher::DynamicBatcher(Runner runner, BatcherOptions options) : runner_(std::move(runner)), options_(std::move(options)) {
  AM_CHECK(runner_, ValueError, "DynamicBatcher: the runner is empty");
  AM_CHECK(options_.max_batch_size >= 1, ValueError, "DynamicBatcher: max_batch_size must be >= 1, got ",
           options_.max_batch_size);
  for (int64_t p : options_.preferred_batch_sizes)
    AM_CHECK(p >= 1 && p <= options_.max_batch_size, ValueError, "DynamicBatcher: preferred_batch_size ", p,
             " must be in [1, max_batch_size=", options_.max_batch_size, "]");
  AM_CHECK(options_.max_queue_delay_us >= 0, ValueError, "DynamicBatcher: max_queue_delay_microseconds must be >= 0, got ",
           options_.max_queue_delay_us);
  AM_CHECK(options_.max_queue_size >= 0, ValueError, "DynamicBatcher: max_queue_size must be >= 0, got ",
           options_.max_queue_size);
  AM_CHECK(options_.default_timeout_us >= 0, ValueError, "DynamicBatcher: the default timeout must be >= 0 us, got ",
           options_.default_timeout_us);
  AM_CHECK(options_.instance_count >= 1 && options_.instance_count <= 256, ValueError,
           "DynamicBatcher: instance_count must be in [1, 256], got ", options_.instance_count);
  workers_.reserve(size_t(options_.instance_count));
  for (int64_t i = 0; i < options_.instance_count; ++i) workers_.emplace_back([this] { work(); });
}

DynamicBatcher::~DynamicBatcher() { stop(true); }

SubmitStatus DynamicBatcher::submit(Request request) {
  AM_CHECK(!request.inputs.empty(), ValueError, "submit: the request has no inputs");
  int64_t rows = -1;
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    const Tensor& x = request.inputs[i];
    AM_CHECK(x.defined() && x.dim() >= 1, ValueError, "submit: input ", i, " must be a batch (rows, ...), got ",
             x.defined() ? x.describe() : "None");
    if (rows < 0) rows = x.size(0);
    AM_CHECK(x.size(0) == rows, ValueError, "submit: every input must have the same rows; input 0 has ", rows,
             ", input ", i, " has ", x.size(0));
  }
  AM_CHECK(rows >= 1, ValueError, "submit: the request has no rows (batch dimension 0)");
  AM_CHECK(rows <= options_.max_batch_size, ValueError, "submit: the request's batch of ", rows,
           " rows exceeds max_batch_size ", options_.max_batch_size);
  AM_CHECK(request.done, ValueError, "submit: the request has no completion callback");
  AM_CHECK(request.timeout_us >= -1, ValueError, "submit: timeout must be >= 0 us, got ", request.timeout_us);
  int64_t timeout = request.timeout_us < 0 ? options_.default_timeout_us : request.timeout_us;
  Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) return SubmitStatus::Stopped;
    if (options_.max_queue_size > 0 && int64_t(queue_.size()) >= options_.max_queue_size) return SubmitStatus::QueueFull;
    Clock::time_point deadline = timeout > 0 ? now + std::chrono::microseconds(timeout) : Clock::time_point::max();
    queue_.push_back(Queued{std::move(request), rows, now, deadline});
    std::lock_guard<std::mutex> s(stats_mu_);
    ++stats_.pending;
  }
  wake_.notify_one();
  return SubmitStatus::Queued;
}

void DynamicBatcher::stop(bool drain) {
  std::lock_guard<std::mutex> once(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_.load()) drain_ = drain;
    else if (!drain) drain_ = false;  // a second stop may cut the drain short
    stopping_.store(true);
  }
  wake_.notify_all();
  for (std::thread& t : workers_)
    if (t.joinable()) t.join();
}

BatcherStats DynamicBatcher::stats() const {
  std::lock_guard<std::mutex> s(stats_mu_);
  return stats_;
}

std::pair<size_t, int64_t> DynamicBatcher::compatible_prefix() const {
  const Request& head = queue_.front().request;
  size_t count = 0;
  int64_t rows = 0;
  for (const Queued& q : queue_) {
    if (rows + q.rows > options_.max_batch_size || !same_batch_shape(head, q.request)) break;
    rows += q.rows;
    ++count;
  }
  return {count, rows};
}

bool DynamicBatcher::batch_ready(int64_t rows, size_t count) const {
  if (rows >= options_.max_batch_size || count < queue_.size()) return true;  // full, or the next one cannot join
  const auto& preferred = options_.preferred_batch_sizes;
  return std::find(preferred.begin(), preferred.end(), rows) != preferred.end();
}

void DynamicBatcher::work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Requests whose time in the queue ran out, and the next deadline.
    Clock::time_point now = Clock::now(), next_deadline = Clock::time_point::max();
    std::vector<Queued> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->deadline <= now) {
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        next_deadline = std::min(next_deadline, it->deadline);
        ++it;
      }
    }
    bool cancel = stopping_.load() && !drain_;
    if (cancel)
      while (!queue_.empty()) {
        expired.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    if (!expired.empty()) {
      lock.unlock();
      for (Queued& q : expired) {
        bool timed_out = !cancel || q.deadline <= now;
        Completion c;
        c.failure = timed_out ? FailureKind::Timeout : FailureKind::Stopped;
        c.error = timed_out ? str_cat("the request timed out after ", micros(now - q.enqueued), " us in the queue")
                            : std::string("the model is being unloaded: the request was cancelled");
        c.queue_us = micros(now - q.enqueued);
        finish(q, std::move(c));
      }
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      if (stopping_.load()) return;
      wake_.wait(lock);
      continue;
    }
    auto [count, rows] = compatible_prefix();
    Clock::time_point due = queue_.front().enqueued + std::chrono::microseconds(options_.max_queue_delay_us);
    if (!stopping_.load() && !batch_ready(rows, count) && now < due) {
      wake_.wait_until(lock, std::min(due, next_deadline));
      continue;
    }
    std::vector<Queued> batch;
    batch.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    bool more = !queue_.empty();
    lock.unlock();
    if (more) wake_.notify_one();  // another instance may start the next batch now
    run_batch(batch);
    lock.lock();
  }
}

void DynamicBatcher::run_batch(std::vector<Queued>& batch) {
  Clock::time_point start = Clock::now();
  int64_t total = 0;
  for (const Queued& q : batch) total += q.rows;
  std::vector<Tensor> outputs;
  FailureKind failure = FailureKind::None;
  std::string error;
  try {
    std::vector<Tensor> inputs;
    if (batch.size() == 1) {
      inputs = batch[0].request.inputs;
    } else {
      size_t n_inputs = batch[0].request.inputs.size();
      for (size_t i = 0; i < n_inputs; ++i) {
        std::vector<Tensor> parts;
        parts.reserve(batch.size());
        for (const Queued& q : batch) parts.push_back(q.request.inputs[i]);
        inputs.push_back(concatenate(parts, 0));
      }
    }
    outputs = runner_(inputs, batch[0].request.key);
    for (size_t i = 0; i < outputs.size(); ++i)
      AM_CHECK(outputs[i].defined() && outputs[i].dim() >= 1 && outputs[i].size(0) == total, RuntimeError,
               "the model's output ", i, " is ", outputs[i].defined() ? outputs[i].describe() : "None",
               ", not a batch of ", total, " rows");
  } catch (const std::exception& e) {
    failure = failure_of(e);
    error = e.what();
  }
  Clock::time_point end = Clock::now();
  int64_t compute = micros(end - start);
  {
    std::lock_guard<std::mutex> s(stats_mu_);
    ++stats_.execution_count;
    ++stats_.batch_sizes[total];
    stats_.batch_compute_us[total] += compute;
  }
  int64_t begin = 0;
  for (Queued& q : batch) {
    Completion c;
    c.failure = failure;
    c.error = error;
    c.queue_us = micros(start - q.enqueued);
    c.compute_us = compute;
    c.batch_rows = total;
    if (failure == FailureKind::None) {
      if (batch.size() == 1) {
        c.outputs = outputs;
      } else {
        c.outputs.reserve(outputs.size());
        for (const Tensor& y : outputs) c.outputs.push_back(index(y, {TensorIndex::slice(begin, begin + q.rows, 1)}));
      }
    }
    begin += q.rows;
    finish(q, std::move(c));
  }
}

void DynamicBatcher::finish(Queued& q, Completion&& c) {
  {
    std::lock_guard<std::mutex> s(stats_mu_);
    --stats_.pending;
    if (c.failure == FailureKind::None) {
      ++stats_.success;
      stats_.inference_count += q.rows;
    } else {
      ++stats_.failure;
    }
    stats_.queue_us += c.queue_us;
    stats_.compute_us += c.compute_us;
  }
  try {
    q.request.done(std::move(c));
  } catch (...) {
    // `done` must not throw; a worker that died here would strand every later request.
  }
  // Release the inputs and the callback here, with no lock held: either may hold Python objects
  // whose release takes the GIL.
  Request released = std::move(q.request);
}

}  // namespace aimass::serve
