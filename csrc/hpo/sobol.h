// Quasi-random sequences for QMCSampler: Sobol (Joe-Kuo direction numbers, sobol_table.h, up to
// sobol_table::kDims dimensions) and Halton.
//
//   Sobol point n, dimension j: the XOR of the direction numbers v[j][b] over the bits b set in
//   gray(n) = n ^ (n >> 1), times 2^-30 (30 bits, as scipy.stats.qmc.Sobol; point 0 is 0). Unscrambled,
//   the points equal scipy's Sobol(scramble=False) in the same order (fast_forward(n) then random(1)).
//   Scrambled: a random linear matrix scramble (each dimension's direction numbers multiplied by a
//   random lower-triangular binary matrix with unit diagonal) and a random digital shift (XOR), as
//   scipy does, drawn from our Rng (so the numbers differ from scipy's, the properties do not).
//   Halton point n, dimension j: the radical inverse of n in the j-th prime base; scrambled: each
//   digit position of each dimension maps digits through its own random permutation (0 -> 0 kept
//   out: the permutation is of all digits, so point 0 moves too).
#pragma once
#include <cstdint>
#include <vector>

namespace aimass::hpo {

class Sobol {
 public:
  static constexpr int kBits = 30;
  // scramble with seed (ignored when scramble is false)
  Sobol(int64_t dim, bool scramble, uint64_t seed);
  int64_t dim() const { return dim_; }
  void point(uint64_t n, double* out) const;  // out [dim]

 private:
  int64_t dim_;
  std::vector<uint32_t> v_;      // [dim, kBits] direction numbers, already shifted to 30-bit integers
  std::vector<uint32_t> shift_;  // [dim]
};

class Halton {
 public:
  Halton(int64_t dim, bool scramble, uint64_t seed);
  int64_t dim() const { return dim_; }
  void point(uint64_t n, double* out) const;  // out [dim]

 private:
  int64_t dim_;
  std::vector<uint32_t> base_;
  std::vector<std::vector<uint32_t>> perm_;  // [dim][digit position * base + digit], empty: identity
};

}  // namespace aimass::hpo
