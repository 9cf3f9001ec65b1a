// make_array_loader: minibatches of in-memory arrays. Each epoch draws its order and every
// augmentation from counters reserved in start_epoch, so batch k of an epoch is a pure function
// of (seed, counters, k): the same with or without the prefetch thread, whatever its timing.
// The prefetch thread assembles batches 0, 1, ... into a queue of at most `prefetch`; the
// consumer pops them in order. A new epoch or the destructor stops and joins the thread first.
// Consumers are serialised by consumer_mutex_ (start_epoch and next from several threads), so
// the queue always holds what the one epoch's worker made and next_batch_ counts it.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/philox.h"
#include "data/augment.h"
#include "data/batch_source.h"
#include "data/sampling.h"
#include "ops/convert.h"
#include "ops/kernels/index.h"

namespace aimass::data {

namespace {

// One epoch's draws: sample order and the first counter of each random stream.
struct EpochPlan {
  std::vector<int64_t> order;  // (num_samples,) row indices, in batch order
  uint64_t seed = 0;
  uint64_t sample_counter = 0;   // sample at epoch position p: kSampleCounters from + p * kSampleCounters
  uint64_t partner_counter = 0;  // mixup partners of batch k: its own permutation from + k * batch_size
};

struct Batch {
  Tensor x, y;
  std::exception_ptr error;
};

// rows[idx[i]] for each i: x (N, ...) -> (B, ...) new, on x's device (the gather kernel with
// one offset per row).
Tensor gather_rows(const Tensor& x, const int64_t* idx, int64_t B) {
  Shape rest(x.shape().begin() + 1, x.shape().end()), rest_strides(x.strides().begin() + 1, x.strides().end());
  Shape out_shape{B};
  out_shape.insert(out_shape.end(), rest.begin(), rest.end());
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  if (B == 0 || out.numel() == 0) return out;
  Tensor offsets = Tensor::empty({B}, DType::Int64);
  for (int64_t i = 0; i < B; ++i) offsets.data<int64_t>()[i] = idx[i] * x.strides()[0];
  gather_kernel.on(x.device())(x.as_strided(rest, rest_strides, x.offset()), to_device(offsets, x.device()), out);
  return out;
}

class ArrayLoader final : public BatchSource {
 public:
  ArrayLoader(const Tensor& x, const Tensor& y, const LoaderOptions& o) : x_(x), y_(y), o_(o) {
    check_arguments();
    const int64_t N = x_.shape()[0];
    num_samples_ = o_.drop_last ? (N / o_.batch_size) * o_.batch_size : N;
    num_batches_ = (num_samples_ + o_.batch_size - 1) / o_.batch_size;
  }
  ~ArrayLoader() override { stop_worker(); }

  uint64_t start_epoch() override {
    std::lock_guard<std::mutex> consumer(consumer_mutex_);
    return start_epoch_locked();
  }

  bool next(Tensor& x, Tensor& y) override {
    std::lock_guard<std::mutex> consumer(consumer_mutex_);
    return next_locked(x, y);
  }

  bool next_in(uint64_t epoch, Tensor& x, Tensor& y) override {
    std::lock_guard<std::mutex> consumer(consumer_mutex_);
    AM_CHECK(epoch == epoch_, RuntimeError, "DataLoader: this iteration (epoch ", epoch,
             ") was superseded by another one started since (epoch ", epoch_,
             "), in another thread or an inner loop over the same DataLoader; give each thread its own DataLoader");
    return next_locked(x, y);
  }

  int64_t num_batches() const override { return num_batches_; }
  int64_t num_samples() const override { return num_samples_; }

 private:
  uint64_t start_epoch_locked() {
    stop_worker();
    auto plan = std::make_shared<EpochPlan>();
    const int64_t N = x_.shape()[0], S = num_samples_;
    const bool per_sample = o_.random_flip || o_.random_crop > 0 || o_.mixup_alpha > 0;
    const uint64_t n_order = o_.shuffle ? uint64_t(N) : 0, n_samples = per_sample ? uint64_t(S) * kSampleCounters : 0,
                   n_partner = o_.mixup_alpha > 0 ? uint64_t(S) : 0;
    GeneratorState g = reserve_random(n_order + n_samples + n_partner);
    plan->seed = g.seed;
    plan->sample_counter = g.offset + n_order;
    plan->partner_counter = g.offset + n_order + n_samples;
    if (o_.shuffle) {
      plan->order = random_permutation(N, g.seed, g.offset);
    } else {
      plan->order.resize(size_t(N));
      for (int64_t i = 0; i < N; ++i) plan->order[size_t(i)] = i;
    }
    plan->order.resize(size_t(S));  // drop_last drops the tail of this epoch's order
    plan_ = std::move(plan);
    next_batch_ = 0;
    if (o_.prefetch > 0) {
      stop_ = false;
      worker_ = std::thread([this, plan = plan_] { run_worker(plan); });
    }
    return ++epoch_;
  }

  bool next_locked(Tensor& x, Tensor& y) {
    if (!plan_) start_epoch_locked();
    if (next_batch_ >= num_batches_) return false;
    if (o_.prefetch == 0) {
      Batch b = assemble(*plan_, next_batch_);
      ++next_batch_;
      x = std::move(b.x);
      y = std::move(b.y);
      return true;
    }
    Batch b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return !queue_.empty(); });
      b = std::move(queue_.front());
      queue_.pop_front();
    }
    space_.notify_one();
    if (b.error) {
      next_batch_ = num_batches_;  // the worker has stopped: this epoch is over
      std::rethrow_exception(b.error);
    }
    ++next_batch_;
    x = std::move(b.x);
    y = std::move(b.y);
    return true;
  }

  void check_arguments() {
    const char* op = "DataLoader";
    AM_CHECK(x_.defined() && y_.defined(), ValueError, op, ": x and y must be tensors");
    AM_CHECK(x_.dim() >= 1 && y_.dim() >= 1, ValueError, op, ": x and y need a sample axis, got x ", x_.describe(),
             " and y ", y_.describe());
    AM_CHECK(x_.shape()[0] == y_.shape()[0], ValueError, op, ": x ", x_.describe(), " and y ", y_.describe(),
             " have different numbers of samples");
    AM_CHECK(x_.device() == y_.device(), ValueError, op, ": x ", x_.describe(), " and y ", y_.describe(),
             " are on different devices");
    AM_CHECK(o_.batch_size >= 1, ValueError, op, ": batch_size must be >= 1, got ", o_.batch_size);
    AM_CHECK(o_.prefetch >= 0, ValueError, op, ": prefetch must be >= 0, got ", o_.prefetch);
    AM_CHECK(o_.random_crop >= 0, ValueError, op, ": random_crop must be >= 0, got ", o_.random_crop);
    AM_CHECK(std::isfinite(o_.mixup_alpha) && o_.mixup_alpha >= 0, ValueError, op,
             ": mixup_alpha must be >= 0, got ", o_.mixup_alpha);
    AM_CHECK(o_.label_smoothing >= 0 && o_.label_smoothing <= 1, ValueError, op,
             ": label_smoothing must be in [0, 1], got ", o_.label_smoothing);
    AM_CHECK(o_.num_classes >= 0, ValueError, op, ": num_classes must be >= 0, got ", o_.num_classes);
    if (o_.random_flip || o_.random_crop > 0)
      AM_CHECK(x_.dim() == 4, ValueError, op, ": random_flip and random_crop need images x (N, C, H, W), got ",
               x_.describe());
    if (o_.mixup_alpha > 0)
      AM_CHECK(is_floating(x_.dtype()), TypeError, op, ": mixup needs floating x, got ", x_.describe(),
               " (convert uint8 images to float first)");
    if (!(o_.mixup_alpha > 0 || o_.label_smoothing > 0)) return;
    // Soft targets: class ids (N,) with num_classes, or probabilities (N, C) already.
    Tensor host = contiguous(to_device(y_, Device()));
    if (is_floating(y_.dtype())) {
      AM_CHECK(y_.dim() == 2, ValueError, op, ": mixup / label_smoothing need y as class ids (N,) or probabilities "
               "(N, C), got ", y_.describe());
      AM_CHECK(o_.num_classes == 0 || o_.num_classes == y_.shape()[1], ValueError, op, ": num_classes = ",
               o_.num_classes, " but y ", y_.describe(), " has ", y_.shape()[1], " classes");
      num_classes_ = y_.shape()[1];
      soft_y_ = contiguous(to_dtype(host, DType::Float64));
    } else {
      AM_CHECK(y_.dim() == 1 && y_.dtype() != DType::Bool, TypeError, op,
               ": mixup / label_smoothing need y as integer class ids (N,) or probabilities (N, C), got ",
               y_.describe());
      AM_CHECK(o_.num_classes >= 1, ValueError, op, ": mixup / label_smoothing with class ids y need num_classes");
      num_classes_ = o_.num_classes;
      labels_ = contiguous(to_dtype(host, DType::Int64));
      const int64_t* l = labels_.data<int64_t>();
      for (int64_t i = 0; i < labels_.numel(); ++i)
        AM_CHECK(l[i] >= 0 && l[i] < num_classes_, ValueError, op, ": y[", i, "] = ", l[i], " is not a class id in [0, ",
                 num_classes_, ")");
    }
    // Each batch builds its (B, C) soft targets as float64 on the CPU: the size must be one that
    // can exist (today's machines hold well under 2**40 bytes; B * C * 8 may not even fit int64).
    const int64_t B = std::min(o_.batch_size, x_.shape()[0]);
    int64_t cells = 0, bytes = 0;
    const bool overflow = __builtin_mul_overflow(B, num_classes_, &cells) ||
                          __builtin_mul_overflow(cells, int64_t(sizeof(double)), &bytes);
    AM_CHECK(!overflow && bytes <= kMaxSoftTargetBytes, ValueError, op, ": num_classes = ", num_classes_,
             " is too large: soft targets of batch_size ", B, " x ", num_classes_,
             " classes would need more than 2**40 bytes per batch");
    target_dtype_ = x_.dtype() == DType::Float64 ? DType::Float64 : DType::Float32;
  }
  static constexpr int64_t kMaxSoftTargetBytes = int64_t(1) << 40;

  // Batch k of the epoch: rows order[k * bs, ...) gathered, then augmented.
  Batch assemble(const EpochPlan& plan, int64_t k) const {
    const int64_t start = k * o_.batch_size, B = std::min(o_.batch_size, num_samples_ - start);
    const int64_t* idx = plan.order.data() + start;
    Batch b;
    b.x = gather_rows(x_, idx, B);
    const bool crop_or_flip = o_.random_flip || o_.random_crop > 0, mix = o_.mixup_alpha > 0;
    std::vector<SampleDraws> draws;
    if (crop_or_flip || mix)
      for (int64_t i = 0; i < B; ++i)
        draws.push_back(sample_draws(plan.seed, plan.sample_counter + uint64_t(start + i) * kSampleCounters,
                                     2 * o_.random_crop + 1, o_.mixup_alpha));
    if (crop_or_flip) {
      Tensor params = Tensor::empty({B, 3}, DType::Int64);
      int64_t* p = params.data<int64_t>();
      for (int64_t i = 0; i < B; ++i) {
        p[3 * i] = o_.random_flip && draws[size_t(i)].flip;
        p[3 * i + 1] = draws[size_t(i)].dy;
        p[3 * i + 2] = draws[size_t(i)].dx;
      }
      b.x = crop_flip(b.x, params, o_.random_crop);
    }
    if (!labels_.defined() && !soft_y_.defined()) {
      b.y = gather_rows(y_, idx, B);
      return b;
    }
    // Soft targets (B, C) on the CPU in float64: smoothed one-hot rows (or probabilities), mixed.
    const int64_t C = num_classes_;
    const double eps = o_.label_smoothing;
    std::vector<double> t(size_t(B * C));
    for (int64_t i = 0; i < B; ++i) {
      double* row = t.data() + i * C;
      if (labels_.defined()) {
        for (int64_t c = 0; c < C; ++c) row[c] = eps / double(C);
        row[labels_.data<int64_t>()[idx[i]]] += 1.0 - eps;
      } else {
        const double* src = soft_y_.data<double>() + idx[i] * C;
        for (int64_t c = 0; c < C; ++c) row[c] = (1.0 - eps) * src[c] + eps / double(C);
      }
    }
    Tensor y = Tensor::empty({B, C}, DType::Float64);
    if (mix) {
      const std::vector<int64_t> partner =
          random_permutation(B, plan.seed, plan.partner_counter + uint64_t(k) * uint64_t(o_.batch_size));
      Tensor part = Tensor::empty({B}, DType::Int64), lam = Tensor::empty({B}, DType::Float64);
      for (int64_t i = 0; i < B; ++i) {
        part.data<int64_t>()[i] = partner[size_t(i)];
        lam.data<double>()[i] = draws[size_t(i)].lam;
      }
      b.x = mixup(b.x, part, lam);
      for (int64_t i = 0; i < B; ++i) {
        const double l = draws[size_t(i)].lam;
        for (int64_t c = 0; c < C; ++c)
          y.data<double>()[i * C + c] = l * t[size_t(i * C + c)] + (1.0 - l) * t[size_t(partner[size_t(i)] * C + c)];
      }
    } else {
      std::copy(t.begin(), t.end(), y.data<double>());
    }
    b.y = to_device(to_dtype(y, target_dtype_), x_.device());
    return b;
  }

  void run_worker(std::shared_ptr<const EpochPlan> plan) {
    for (int64_t k = 0; k < num_batches_; ++k) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        space_.wait(lock, [this] { return stop_ || int64_t(queue_.size()) < o_.prefetch; });
        if (stop_) return;
      }
      Batch b;
      try {
        b = assemble(*plan, k);
      } catch (...) {
        b.error = std::current_exception();
      }
      const bool failed = bool(b.error);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(b));
      }
      ready_.notify_one();
      if (failed) return;
    }
  }

  void stop_worker() {
    if (worker_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
      }
      space_.notify_all();
      worker_.join();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
  }

  Tensor x_, y_;
  LoaderOptions o_;
  int64_t num_samples_ = 0, num_batches_ = 0;
  int64_t num_classes_ = 0;
  Tensor labels_;   // int64 (N,) on the CPU, when soft targets are made from class ids
  Tensor soft_y_;   // float64 (N, C) on the CPU, when y holds probabilities already
  DType target_dtype_ = DType::Float32;

  std::mutex consumer_mutex_;  // held by start_epoch / next: one consumer at a time
  std::shared_ptr<const EpochPlan> plan_;
  int64_t next_batch_ = 0;  // consumer side
  uint64_t epoch_ = 0;      // the current epoch's number (0 before the first)
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Batch> queue_;
  bool stop_ = false;
};

}  // namespace

std::shared_ptr<BatchSource> make_array_loader(const Tensor& x, const Tensor& y, const LoaderOptions& options) {
  return std::make_shared<ArrayLoader>(x, y, options);
}

}  // namespace aimass::data
