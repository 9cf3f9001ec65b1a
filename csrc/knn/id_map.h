// Where each id lives: the host-side map from an index's int64 ids to their rows, which keeps
// ids unique, finds vectors to reconstruct or remove, and turns filters into row masks.
#pragma once
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace aimass::knn {

class IdMap {
 public:
  // ValueError naming `what` and the id if any of ids[0, n) is already present or repeated;
  // checks everything before changing anything.
  void check_new(const int64_t* ids, int64_t n, const char* what) const;
  // Records ids[i] at row first_row + i (call check_new first).
  void insert(const int64_t* ids, int64_t n, int64_t first_row);
  int64_t row_of(int64_t id) const;  // -1 when absent
  bool contains(int64_t id) const { return rows_.count(id) != 0; }
  // For remove(): a flag per row of [0, nrows), set where one of `ids` lives (absent or repeated
  // ids count once or not at all); *removed gets how many are set.
  std::vector<uint8_t> rows_to_drop(const std::vector<int64_t>& ids, int64_t nrows, int64_t* removed) const;
  // Forgets every id and records ids[i] at row i.
  void rebuild(const int64_t* ids, int64_t n);
  void clear() { rows_.clear(); }
  int64_t size() const { return int64_t(rows_.size()); }

 private:
  std::unordered_map<int64_t, int64_t> rows_;
};

}  // namespace aimass::knn
