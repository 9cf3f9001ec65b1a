#include "hpo/sobol.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "hpo/rng.h"
#include "hpo/sobol_table.h"

namespace aimass::hpo {

Sobol::Sobol(int64_t dim, bool scramble, uint64_t seed) : dim_(dim), v_(dim * kBits), shift_(dim, 0) {
  AM_CHECK(dim >= 1 && dim <= sobol_table::kDims, ValueError, "Sobol dimension must be in [1, ", sobol_table::kDims,
           "], got ", dim);
  const uint32_t* data = sobol_table::kData;
  for (int64_t j = 0; j < dim; ++j) {
    uint32_t* v = v_.data() + j * kBits;
    uint32_t p = *data++;
    int s = 0;
    while ((p >> (s + 1)) != 0) ++s;  // degree
    if (j == 0) {
      std::fill(v, v + kBits, 1u);
    } else {
      for (int b = 0; b < s; ++b) v[b] = *data++;
      // Bratley & Fox recurrence: m_b = 2^s m_{b-s} ^ m_{b-s} ^ sum_k a_k 2^k m_{b-k}
      for (int b = s; b < kBits; ++b) {
        uint32_t m = v[b - s];
        for (int k = 1; k <= s; ++k)
          if ((p >> (s - k)) & 1u) m ^= v[b - k] << k;
        v[b] = m;
      }
    }
    for (int b = 0; b < kBits; ++b) v[b] <<= (kBits - 1 - b);  // m_b / 2^(b+1) as a 30-bit fraction
  }
  if (!scramble) return;
  Rng rng(seed);
  for (int64_t j = 0; j < dim; ++j) {
    // lower-triangular matrix L (bit 29 = most significant = row 0): row r has a 1 at column r and
    // random bits at columns < r; the scrambled number's bit r is the parity of (L_r & v)
    uint32_t rows[kBits];
    for (int r = 0; r < kBits; ++r) {
      uint32_t high_bits = r ? uint32_t(rng.next() >> (64 - r)) : 0u;  // columns 0..r-1
      rows[r] = (1u << (kBits - 1 - r)) | (high_bits << (kBits - r));
    }
    uint32_t* v = v_.data() + j * kBits;
    for (int b = 0; b < kBits; ++b) {
      uint32_t out = 0;
      for (int r = 0; r < kBits; ++r)
        out |= uint32_t(__builtin_parity(rows[r] & v[b])) << (kBits - 1 - r);
      v[b] = out;
    }
    shift_[j] = uint32_t(rng.next() >> (64 - kBits));
  }
}

void Sobol::point(uint64_t n, double* out) const {
  AM_CHECK(n < (uint64_t(1) << kBits), ValueError, "Sobol index ", n, " is beyond the 2^", kBits, " points");
  uint64_t gray = n ^ (n >> 1);
  for (int64_t j = 0; j < dim_; ++j) {
    const uint32_t* v = v_.data() + j * kBits;
    uint32_t x = shift_[j];
    for (int b = 0; gray >> b; ++b)
      if ((gray >> b) & 1u) x ^= v[b];
    out[j] = double(x) * (1.0 / double(1u << kBits));
  }
}

Halton::Halton(int64_t dim, bool scramble, uint64_t seed) : dim_(dim), base_(dim), perm_(dim) {
  AM_CHECK(dim >= 1 && dim <= 10000, ValueError, "Halton dimension must be in [1, 10000], got ", dim);
  uint32_t p = 1;
  for (int64_t j = 0; j < dim; ++j) {  // the j-th prime
    for (bool prime = false; !prime;) {
      ++p;
      prime = true;
      for (uint32_t q = 2; q * q <= p; ++q)
        if (p % q == 0) { prime = false; break; }
    }
    base_[j] = p;
  }
  if (!scramble) return;
  Rng rng(seed);
  for (int64_t j = 0; j < dim; ++j) {
    uint32_t b = base_[j];
    int digits = 1;
    for (double r = 1.0 / b; r > 1e-16; r /= b) ++digits;
    perm_[j].resize(size_t(digits) * b);
    for (int t = 0; t < digits; ++t) {
      uint32_t* pm = perm_[j].data() + size_t(t) * b;
      std::iota(pm, pm + b, 0u);
      for (uint32_t i = b - 1; i > 0; --i) std::swap(pm[i], pm[rng.below(i + 1)]);
    }
  }
}

void Halton::point(uint64_t n, double* out) const {
  for (int64_t j = 0; j < dim_; ++j) {
    uint32_t b = base_[j];
    double inv = 1.0 / b, f = inv, x = 0;
    uint64_t k = n;
    if (perm_[j].empty()) {
      for (; k; k /= b, f *= inv) x += f * double(k % b);
    } else {  // scrambled: every digit position (trailing zeros too) goes through its permutation
      size_t digits = perm_[j].size() / b;
      for (size_t t = 0; t < digits; ++t, k /= b, f *= inv) x += f * double(perm_[j][t * b + k % b]);
    }
    out[j] = std::min(x, 1.0 - 1e-16);
  }
}

}  // namespace aimass::hpo
