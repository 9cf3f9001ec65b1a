// One query against many rows, no BLAS: ip[j] = q . x[j] for x (n, d) row-major float32, q
// (d,). For scans where a GEMM does not pay (single queries, IVF lists, coarse quantizers).
#pragma once
#include <cstdint>

namespace aimass::cpu {

void knn_dot_rows(const float* q, const float* x, int64_t n, int64_t d, float* ip);

}  // namespace aimass::cpu
