// The CPU thread pool. parallel_for splits [begin, end) into at most num_threads() chunks of
// at least `grain` items and runs them on the pool, the calling thread taking the first; a
// range below 2 * grain runs inline, so small problems never pay for threads.
#pragma once
#include <cstdint>
#include <functional>

namespace aimass {

int num_threads();
// Also sets the BLAS's thread count. n <= 0 restores the default (AIMASS_NUM_THREADS, else
// the number of cores). ValueError above max_threads().
void set_num_threads(int n);
// The most threads set_num_threads accepts (and AIMASS_NUM_THREADS is clamped to): more only
// adds scheduling cost, and thousands of threads make every parallel op crawl.
constexpr int kThreadsPerCoreLimit = 4;
constexpr int kMinThreadLimit = 256;
int max_threads();

// While alive, BLAS calls run single-threaded: for code that calls the BLAS from several pool
// threads at once (many small GEMMs), where a threaded BLAS inside each would oversubscribe the
// cores and serialise on its shared worker threads. OpenBLAS's thread count is process-wide,
// so this is for the compute thread's own parallel regions.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  bool active_;
};

void parallel_for(int64_t begin, int64_t end, int64_t grain,
                  const std::function<void(int64_t, int64_t)>& fn);

// Items per chunk for memory-bound elementwise kernels: below ~1 MiB of floats per thread,
// waking a worker costs more than the second core saves (measured: a 64K-element add takes
// 10 us on one thread, 22 us on two).
constexpr int64_t kElementwiseGrain = int64_t(1) << 18;
// Items per chunk for compute-bound loops (exp, tanh, ...), which pay for threads sooner.
constexpr int64_t kComputeGrain = int64_t(1) << 14;

}  // namespace aimass
