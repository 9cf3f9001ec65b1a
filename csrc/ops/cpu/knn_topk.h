// Top-k selection for the CPU k-NN kernels (knn_flat.cpp, knn_ivf.cpp). A query's candidates
// stream through a TopK, keyed so that smaller is better (L2: the distance less the query's
// own norm; inner product: the negated score). Candidates at or under the current threshold
// go into a buffer of 2k; when it fills, nth_element keeps the best k and tightens the
// threshold. Any k works (up to every row), in O(n + k log k) per query, and a SIMD compare
// against the threshold rejects most rows of a long scan 16 at a time.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "ops/knn.h"

namespace aimass::cpu {

struct KnnCandidate {
  float key;
  int64_t id;
  bool operator<(const KnnCandidate& o) const { return key < o.key || (key == o.key && id < o.id); }
};

class TopK {
 public:
  explicit TopK(int64_t k = 1) { reset(k); }
  void reset(int64_t k);
  float threshold() const { return threshold_; }
  void push(float key, int64_t id) {
    if (key > threshold_) return;
    buf_.push_back({key, id});
    if (int64_t(buf_.size()) >= capacity_) compact();
  }
  // Merges another selection's candidates (for results computed in parts).
  void merge(const TopK& other);
  // Writes the k best, best first, as scores: score = sign * (key + offset), clamped at 0 for
  // L2 (sign +1, offset = the query's squared norm) or the inner product (sign -1, offset 0).
  // Unfilled slots get id -1 and the metric's worst score.
  void finish(KnnMetric metric, float offset, float* dist, int64_t* ids);

 private:
  void compact();
  int64_t k_ = 1, capacity_ = 2;
  float threshold_ = std::numeric_limits<float>::infinity();
  std::vector<KnnCandidate> buf_;
};

// Streams one row of scores into top: key[j] = a * ip[j] + b[j] (b == nullptr: 0), skipping rows
// with allowed[j] false (allowed == nullptr: all allowed). ip, b, ids, allowed: n entries.
void knn_scan_row(const float* ip, const float* b, float a, int64_t n, const int64_t* ids, const bool* allowed,
                  TopK& top);

// Direct scores for a few queries against a few rows, no BLAS: ip[i * n + j] = q[i] . x[j].
// q: (m, d), x: (n, d), both row-major float32.
void knn_dot_block(const float* q, int64_t m, const float* x, int64_t n, int64_t d, float* ip);

}  // namespace aimass::cpu
