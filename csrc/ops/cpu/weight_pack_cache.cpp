#include "ops/cpu/weight_pack_cache.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "core/cpu_isa.h"

namespace aimass::cpu {

namespace {

struct Entry {
  std::weak_ptr<StorageImpl> storage;
  const void* data = nullptr;  // the weight's first element (storage + offset)
  int64_t n = 0, k = 0;
  uint64_t version = 0;
  int seen = 0;
  std::shared_ptr<const SgemmPackedB> packed;
  uint64_t last_use = 0;
};

size_t capacity_bytes() {
  static const size_t bytes = [] {
    const char* env = std::getenv("AIMASS_WEIGHT_PACK_CACHE_MB");
    long mb = env && *env ? std::strtol(env, nullptr, 10) : 1024;
    return size_t(std::max(0L, mb)) << 20;
  }();
  return bytes;
}

std::mutex cache_mutex;
std::vector<Entry> cache;
uint64_t use_clock = 0;
std::atomic<int64_t> packs{0};

// The packed copy still holds w's values at 64 spread positions.
bool spot_check(const SgemmPackedB& p, const float* w) {
  const int64_t total = p.n * p.k;
  const int64_t step = std::max<int64_t>(1, total / 64);
  for (int64_t i = 0; i < total; i += step) {
    const int64_t row = i / p.k, col = i % p.k;  // w[row][col] = B(col, row)
    const float packed = p.data.get()[(row / 32) * p.k * 32 + col * 32 + row % 32];
    if (!(packed == w[i]) && !(packed != packed && w[i] != w[i])) return false;  // NaN matches NaN
  }
  return true;
}

void evict_locked() {
  cache.erase(std::remove_if(cache.begin(), cache.end(), [](const Entry& e) { return e.storage.expired(); }),
              cache.end());
  auto total = [] {
    size_t bytes = 0;
    for (const Entry& e : cache) bytes += e.packed ? e.packed->nbytes() : 0;
    return bytes;
  };
  while (total() > capacity_bytes()) {
    auto lru = std::min_element(cache.begin(), cache.end(), [](const Entry& a, const Entry& b) {
      return (a.packed ? a.last_use : UINT64_MAX) < (b.packed ? b.last_use : UINT64_MAX);
    });
    if (lru == cache.end() || !lru->packed) break;
    cache.erase(lru);
  }
  constexpr size_t kMaxEntries = 256;  // unpacked sightings too
  while (cache.size() > kMaxEntries)
    cache.erase(std::min_element(cache.begin(), cache.end(),
                                 [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; }));
}

}  // namespace

std::shared_ptr<const SgemmPackedB> packed_weight_for_inference(const Tensor& w) {
  if (capacity_bytes() == 0 || cpu_isa() != CpuIsa::Avx512) return nullptr;
  const int64_t n = w.shape()[0], k = w.shape()[1];
  if (size_t(n * k) * sizeof(float) > capacity_bytes()) return nullptr;
  const float* data = w.data<float>();
  const uint64_t version = w.storage()->version.load();
  std::lock_guard<std::mutex> lock(cache_mutex);
  ++use_clock;
  auto it = std::find_if(cache.begin(), cache.end(), [&](const Entry& e) {
    return e.data == data && e.n == n && e.k == k && e.storage.lock() == w.storage();
  });
  if (it == cache.end()) {
    Entry e;
    e.storage = w.storage();
    e.data = data;
    e.n = n;
    e.k = k;
    e.version = version;
    e.seen = 1;
    e.last_use = use_clock;
    cache.push_back(std::move(e));
    evict_locked();
    return nullptr;
  }
  it->last_use = use_clock;
  if (it->version != version || (it->packed && !spot_check(*it->packed, data))) {
    it->version = version;
    it->packed.reset();
    it->seen = 1;
    return nullptr;
  }
  if (it->packed) return it->packed;
  if (++it->seen < 2) return nullptr;
  it->packed = sgemm_avx512_pack_b(true, n, k, data, k);
  packs.fetch_add(1);
  auto packed = it->packed;
  evict_locked();
  return packed;
}

int64_t weight_pack_cache_entries() {
  std::lock_guard<std::mutex> lock(cache_mutex);
  return int64_t(cache.size());
}

int64_t weight_pack_count() { return packs.load(); }

void clear_weight_pack_cache() {
  std::lock_guard<std::mutex> lock(cache_mutex);
  cache.clear();
}

}  // namespace aimass::cpu
