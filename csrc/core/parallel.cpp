#include "core/parallel.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>

#include "core/error.h"

namespace aimass {

namespace {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

int default_threads() {
  if (const char* env = std::getenv("AIMASS_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return std::min(n, max_threads());
  }
  return available_cores();
}

thread_local bool tls_in_worker = false;

// Workers wait on a queue of closures; the pool is rebuilt lazily at its new size when
// set_num_threads changes it, and after fork() (a child has no threads but the caller).
class ThreadPool {
 public:
  explicit ThreadPool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }
  int workers() const { return int(threads_.size()); }

 private:
  void run() {
    tls_in_worker = true;
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_ && queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> queue_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

std::atomic<int> g_num_threads{0};
std::mutex g_pool_mutex;
ThreadPool* g_pool = nullptr;

void forget_pool_after_fork() {
  g_pool = nullptr;  // its threads do not exist in the child; leak the object rather than join
  new (&g_pool_mutex) std::mutex();
}

ThreadPool& pool(int threads) {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  static bool registered = (pthread_atfork(nullptr, nullptr, forget_pool_after_fork), true);
  (void)registered;
  if (!g_pool || g_pool->workers() != threads - 1) {
    delete g_pool;
    g_pool = new ThreadPool(threads - 1);
  }
  return *g_pool;
}

}  // namespace

int num_threads() {
  int n = g_num_threads.load();
  if (n == 0) {
    n = default_threads();
    g_num_threads = n;
  }
  return n;
}

int max_threads() { return std::max(kMinThreadLimit, kThreadsPerCoreLimit * available_cores()); }

void set_num_threads(int n) {
  AM_CHECK(n <= max_threads(), ValueError, "set_num_threads: ", n, " threads is more than the ", max_threads(),
           " allowed on this machine (", kThreadsPerCoreLimit, " per core, at least ", kMinThreadLimit,
           "); more only adds scheduling cost");
  g_num_threads = n > 0 ? n : default_threads();
  scipy_openblas_set_num_threads(g_num_threads);
}

SingleThreadedBlas::SingleThreadedBlas() : active_(num_threads() > 1) {
  if (active_) scipy_openblas_set_num_threads(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (active_) scipy_openblas_set_num_threads(num_threads());
}

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn) {
  int64_t n = end - begin;
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(num_threads(), n / grain);
  if (chunks <= 1 || tls_in_worker) {
    fn(begin, end);
    return;
  }
  ThreadPool& p = pool(int(num_threads()));
  int64_t per = (n + chunks - 1) / chunks;
  // Counted down under done_mutex: a worker that decremented outside it could still be about to
  // lock done_mutex when this frame, seeing 0, returns and frees it (a hang seen under load).
  int64_t remaining = chunks - 1;
  std::mutex done_mutex;
  std::condition_variable done_cv;
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run_chunk = [&](int64_t c) {
    int64_t b = begin + c * per, e = std::min(end, b + per);
    try {
      if (b < e) fn(b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  };
  for (int64_t c = 1; c < chunks; ++c) {
    p.submit([&, c] {
      run_chunk(c);
      std::lock_guard<std::mutex> lock(done_mutex);
      if (--remaining == 0) done_cv.notify_one();
    });
  }
  run_chunk(0);
  {
    std::unique_lock<std::mutex> lock(done_mutex);
    done_cv.wait(lock, [&] { return remaining == 0; });
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace aimass
