#include "knn/id_map.h"

#include <unordered_set>

#include "core/error.h"

namespace aimass::knn {

void IdMap::check_new(const int64_t* ids, int64_t n, const char* what) const {
  std::unordered_set<int64_t> seen;
  seen.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    AM_CHECK(!contains(ids[i]), ValueError, what, ": id ", ids[i], " is already in the index");
    AM_CHECK(seen.insert(ids[i]).second, ValueError, what, ": id ", ids[i], " appears twice among the new ids");
  }
}

void IdMap::insert(const int64_t* ids, int64_t n, int64_t first_row) {
  rows_.reserve(rows_.size() + size_t(n));
  for (int64_t i = 0; i < n; ++i) rows_.emplace(ids[i], first_row + i);
}

int64_t IdMap::row_of(int64_t id) const {
  auto it = rows_.find(id);
  return it == rows_.end() ? -1 : it->second;
}

std::vector<uint8_t> IdMap::rows_to_drop(const std::vector<int64_t>& ids, int64_t nrows, int64_t* removed) const {
  std::vector<uint8_t> drop(static_cast<size_t>(nrows), 0);
  *removed = 0;
  for (int64_t id : ids) {
    const int64_t row = row_of(id);
    if (row >= 0 && !drop[size_t(row)]) drop[size_t(row)] = 1, ++*removed;
  }
  return drop;
}

void IdMap::rebuild(const int64_t* ids, int64_t n) {
  rows_.clear();
  insert(ids, n, 0);
}

}  // namespace aimass::knn
