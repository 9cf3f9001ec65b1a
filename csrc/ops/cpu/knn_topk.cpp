#include "ops/cpu/knn_topk.h"

#include <immintrin.h>

#include <algorithm>

#include "core/cpu_isa.h"
#include "ops/cpu/knn_dot.h"

namespace aimass::cpu {

void TopK::reset(int64_t k) {
  k_ = k;
  capacity_ = std::max<int64_t>(2 * k, 16);
  threshold_ = std::numeric_limits<float>::infinity();
  buf_.clear();  // grows on demand: a selection that sees few candidates stays small
}

void TopK::compact() {
  if (int64_t(buf_.size()) <= k_) return;
  std::nth_element(buf_.begin(), buf_.begin() + (k_ - 1), buf_.end());
  buf_.resize(size_t(k_));
  // Everything left is <= the k-th: it is the new bar (equal keys still enter; the id decides).
  threshold_ = std::max_element(buf_.begin(), buf_.end())->key;
}

void TopK::merge(const TopK& other) {
  for (const KnnCandidate& c : other.buf_) push(c.key, c.id);
}

void TopK::finish(KnnMetric metric, float offset, float* dist, int64_t* ids) {
  compact();
  std::sort(buf_.begin(), buf_.end());
  const bool l2 = metric == KnnMetric::L2;
  const int64_t n = std::min<int64_t>(k_, int64_t(buf_.size()));
  for (int64_t i = 0; i < n; ++i) {
    const float key = buf_[size_t(i)].key;
    dist[i] = l2 ? std::max(key + offset, 0.0f) : -key;
    ids[i] = buf_[size_t(i)].id;
  }
  // Clamping can make distinct L2 keys equal (0): restore the smaller-id-first rule among them.
  if (l2) {
    int64_t zeros = 0;
    while (zeros < n && dist[zeros] == 0.0f) ++zeros;
    std::sort(ids, ids + zeros);
  }
  for (int64_t i = n; i < k_; ++i) dist[i] = knn_worst_score(metric), ids[i] = -1;
}

namespace {

template <bool kHasB>
void scan_scalar(const float* ip, const float* b, float a, int64_t n, const int64_t* ids, const bool* allowed,
                 TopK& top) {
  for (int64_t j = 0; j < n; ++j) {
    const float key = kHasB ? a * ip[j] + b[j] : a * ip[j];
    if (key <= top.threshold() && (!allowed || allowed[j])) top.push(key, ids[j]);
  }
}

AM_TARGET_AVX512 void scan_avx512(const float* ip, const float* b, float a, int64_t n, const int64_t* ids,
                                  const bool* allowed, TopK& top) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512 key = _mm512_mul_ps(va, _mm512_loadu_ps(ip + j));
    if (b) key = _mm512_add_ps(key, _mm512_loadu_ps(b + j));
    uint32_t mask = _mm512_cmp_ps_mask(key, _mm512_set1_ps(top.threshold()), _CMP_LE_OQ);
    if (!mask) continue;
    alignas(64) float keys[16];
    _mm512_store_ps(keys, key);
    while (mask) {
      const int t = __builtin_ctz(mask);
      mask &= mask - 1;
      if (!allowed || allowed[j + t]) top.push(keys[t], ids[j + t]);
    }
  }
  if (b) scan_scalar<true>(ip + j, b + j, a, n - j, ids + j, allowed ? allowed + j : nullptr, top);
  else scan_scalar<false>(ip + j, nullptr, a, n - j, ids + j, allowed ? allowed + j : nullptr, top);
}

AM_TARGET_AVX2 void scan_avx2(const float* ip, const float* b, float a, int64_t n, const int64_t* ids,
                              const bool* allowed, TopK& top) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 key = _mm256_mul_ps(va, _mm256_loadu_ps(ip + j));
    if (b) key = _mm256_add_ps(key, _mm256_loadu_ps(b + j));
    uint32_t mask = uint32_t(_mm256_movemask_ps(_mm256_cmp_ps(key, _mm256_set1_ps(top.threshold()), _CMP_LE_OQ)));
    if (!mask) continue;
    alignas(32) float keys[8];
    _mm256_store_ps(keys, key);
    while (mask) {
      const int t = __builtin_ctz(mask);
      mask &= mask - 1;
      if (!allowed || allowed[j + t]) top.push(keys[t], ids[j + t]);
    }
  }
  if (b) scan_scalar<true>(ip + j, b + j, a, n - j, ids + j, allowed ? allowed + j : nullptr, top);
  else scan_scalar<false>(ip + j, nullptr, a, n - j, ids + j, allowed ? allowed + j : nullptr, top);
}

}  // namespace

void knn_scan_row(const float* ip, const float* b, float a, int64_t n, const int64_t* ids, const bool* allowed,
                  TopK& top) {
  switch (cpu_isa_at("knn_scan")) {
    case CpuIsa::Avx512: return scan_avx512(ip, b, a, n, ids, allowed, top);
    case CpuIsa::Avx2: return scan_avx2(ip, b, a, n, ids, allowed, top);
    case CpuIsa::Baseline: break;
  }
  if (b) scan_scalar<true>(ip, b, a, n, ids, allowed, top);
  else scan_scalar<false>(ip, b, a, n, ids, allowed, top);
}

void knn_dot_block(const float* q, int64_t m, const float* x, int64_t n, int64_t d, float* ip) {
  // Row chunks of ~128 KiB stay in L2 while every query passes over them: the base is read
  // from memory once per block, not once per query.
  const int64_t chunk = std::max<int64_t>(8, (int64_t(128) << 10) / (4 * std::max<int64_t>(d, 1)));
  for (int64_t r0 = 0; r0 < n; r0 += chunk) {
    const int64_t rows = std::min(chunk, n - r0);
    for (int64_t i = 0; i < m; ++i) knn_dot_rows(q + i * d, x + r0 * d, rows, d, ip + i * n + r0);
  }
}

}  // namespace aimass::cpu
