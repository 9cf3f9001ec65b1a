// int8_gemm.h: packing, the epilogue, the portable baseline kernel and the run-time choice
// (the SIMD tiles are in int8_gemm_avx512.cpp and int8_gemm_avx2.cpp, kernels.h).
#include "quant/int8_gemm.h"

#include <algorithm>
#include <cmath>

#include "core/cpu_isa.h"
#include "core/error.h"
#include "core/parallel.h"
#include "quant/kernels.h"

namespace aimass::quant {

PackedInt8Weights pack_int8_weights(const int8_t* w, int64_t n, int64_t k, int64_t ldw) {
  AM_CHECK(n > 0 && k > 0, ValueError, "pack_int8_weights: expected a positive shape, got (", n, ", ", k, ")");
  AM_CHECK(ldw >= k, ValueError, "pack_int8_weights: row stride ", ldw, " < k = ", k);
  PackedInt8Weights p;
  p.n = n;
  p.k = k;
  p.n_padded = (n + 15) / 16 * 16;
  p.k_padded = (k + 3) / 4 * 4;
  p.data.assign(size_t(p.n_padded * p.k_padded), 0);
  p.col_sum.assign(size_t(p.n_padded), 0);
  const int64_t k4_count = p.k_padded / 4;
  for (int64_t r = 0; r < n; ++r) {
    const int64_t nb = r / 16, j = r % 16;
    int32_t sum = 0;
    for (int64_t c = 0; c < k; ++c) {
      int8_t v = w[r * ldw + c];
      sum += v;
      p.data[size_t(((nb * k4_count) + c / 4) * 64 + j * 4 + c % 4)] = v;
    }
    p.col_sum[size_t(r)] = sum;
  }
  return p;
}

namespace {

// acc (rows, 16) for rows [m0, m0 + rows) and block nb, from the packed layout.
void accumulate_block_baseline(const uint8_t* a, int64_t lda, int64_t rows, const PackedInt8Weights& w, int64_t nb,
                               int32_t* acc /* rows x 16 */) {
  const int64_t k4_count = w.k_padded / 4;
  const int8_t* block = w.data.data() + nb * k4_count * 64;
  for (int64_t i = 0; i < rows; ++i) {
    int32_t* out = acc + i * 16;
    std::fill(out, out + 16, 0);
    const uint8_t* row = a + i * lda;
    for (int64_t k4 = 0; k4 < k4_count; ++k4) {
      const int8_t* wb = block + k4 * 64;
      const int64_t c0 = k4 * 4;
      uint8_t av[4] = {0, 0, 0, 0};
      for (int t = 0; t < 4 && c0 + t < w.k; ++t) av[t] = row[c0 + t];
      for (int j = 0; j < 16; ++j)
        for (int t = 0; t < 4; ++t) out[j] += int32_t(av[t]) * int32_t(wb[j * 4 + t]);
    }
  }
}

// A SIMD kernel: its tile function and tile shape (rows x 16 * blocks columns).
// small: the tile for M <= small_rows (wide strips of columns, small_rows x 16 * small_blocks).
struct TileKernel {
  detail::Int8TileFn tile = nullptr;
  int64_t rows = 0, blocks = 0;
  const char* name = "baseline";
  detail::Int8TileFn small = nullptr;
  int64_t small_rows = 0, small_blocks = 0;
};

TileKernel kernel_for(CpuIsa isa) {
#ifdef AM_QUANT_X86
  if (isa == CpuIsa::Avx512 && cpu_has_avx512_vnni())
    return {detail::int8_tile_avx512_vnni,       detail::kVnniTileRows,  detail::kVnniTileBlocks, "avx512_vnni",
            detail::int8_small_tile_avx512_vnni, detail::kVnniSmallRows, detail::kVnniSmallBlocks};
  if (int(isa) >= int(CpuIsa::Avx2))  // also AVX-512 without VNNI (Skylake-X)
    return {detail::int8_tile_avx2,       detail::kAvx2TileRows,  detail::kAvx2TileBlocks, "avx2",
            detail::int8_small_tile_avx2, detail::kAvx2SmallRows, detail::kAvx2SmallBlocks};
#endif
  return {};
}

// The thread pool over M x N: items are (chunk of rows, panel of kern.blocks blocks), panels
// inner, so a thread's consecutive items share the chunk of A (at most ~256 KiB, in L2) and each
// panel of W is read from memory once per chunk and then from L2 by every tile of rows.
// M <= kern.small_rows (batch-1 inference: memory-bound on the weights) takes the small tile, one
// row chunk, and the pool splits the columns, so that every core streams its share of W.
void run_tiles(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, const detail::Int8Output& out,
               TileKernel kern) {
  if (kern.small && m <= kern.small_rows) {
    kern.tile = kern.small;
    kern.rows = kern.small_rows;
    kern.blocks = kern.small_blocks;
  }
  const int64_t n_blocks = (w.n + 15) / 16, n_panels = (n_blocks + kern.blocks - 1) / kern.blocks;
  int64_t chunk = std::max<int64_t>(kern.rows, (int64_t(1) << 18) / std::max<int64_t>(w.k, 1) / kern.rows * kern.rows);
  chunk = std::min(chunk, (m + kern.rows - 1) / kern.rows * kern.rows);
  const int64_t m_chunks = (m + chunk - 1) / chunk;
  const int64_t item_macs = chunk * kern.blocks * 16 * w.k_padded;
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 17) / item_macs);  // small GEMMs stay in one thread
  parallel_for(0, m_chunks * n_panels, grain, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m0 = t / n_panels * chunk, m1 = std::min(m, m0 + chunk);
      const int64_t nb0 = t % n_panels * kern.blocks, blocks = std::min(kern.blocks, n_blocks - nb0);
      for (int64_t i = m0; i < m1; i += kern.rows)
        kern.tile(a + i * lda, lda, std::min(kern.rows, m1 - i), i, w, nb0, blocks, out);
    }
  });
}

void check_gemm_args(int64_t m, int64_t lda, const PackedInt8Weights& w, int64_t ldc) {
  AM_CHECK(w.n > 0 && w.k > 0 && w.data.size() == size_t(w.n_padded * w.k_padded) &&
               w.col_sum.size() == size_t(w.n_padded),
           ValueError, "int8_gemm: the weights are not packed (use pack_int8_weights)");
  AM_CHECK(m >= 0, ValueError, "int8_gemm: negative M");
  AM_CHECK(lda >= w.k, ValueError, "int8_gemm: row stride ", lda, " < k = ", w.k);
  AM_CHECK(m == 0 || ldc >= w.n, ValueError, "int8_gemm: C row stride ", ldc, " < n = ", w.n);
}

template <typename Write>
void run_gemm(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, Write write) {
  const int64_t n_blocks = w.n_padded / 16;
  constexpr int64_t kRowsPerTile = 16;
  const int64_t m_tiles = (m + kRowsPerTile - 1) / kRowsPerTile;
  parallel_for(0, m_tiles * n_blocks, 1, [&](int64_t t0, int64_t t1) {
    int32_t acc[kRowsPerTile * 16];
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t mt = t / n_blocks, nb = t % n_blocks;
      const int64_t m0 = mt * kRowsPerTile, rows = std::min(kRowsPerTile, m - m0);
      accumulate_block_baseline(a + m0 * lda, lda, rows, w, nb, acc);
      write(m0, rows, nb * 16, std::min<int64_t>(16, w.n - nb * 16), acc);
    }
  });
}

inline float dequantised(int32_t acc, int64_t row, int64_t col, const PackedInt8Weights& w, const Int8Epilogue& ep) {
  const int64_t ai = ep.a_per_row ? row : 0;
  float v = float(acc - ep.a_zero[ai] * w.col_sum[size_t(col)]) * (ep.a_scale[ai] * ep.w_scale[col]);
  if (ep.bias) v += ep.bias[col];
  if (ep.relu) v = std::max(v, 0.0f);
  return v;
}

void check_epilogue(const Int8Epilogue& ep) {
  AM_CHECK(ep.a_scale && ep.a_zero && ep.w_scale, ValueError, "int8_gemm: the epilogue needs a_scale, a_zero, w_scale");
}

}  // namespace

void int8_gemm_s32(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, int32_t* c, int64_t ldc) {
  check_gemm_args(m, lda, w, ldc);
  if (m == 0) return;
  const TileKernel kern = kernel_for(cpu_isa_at("int8_gemm"));
  if (kern.tile) {
    detail::Int8Output out;
    out.kind = detail::Int8Out::S32;
    out.c = c;
    out.ldc = ldc;
    return run_tiles(a, m, lda, w, out, kern);
  }
  run_gemm(a, m, lda, w, [&](int64_t m0, int64_t rows, int64_t n0, int64_t cols, const int32_t* acc) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) c[(m0 + i) * ldc + n0 + j] = acc[i * 16 + j];
  });
}

void int8_gemm_f32(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, const Int8Epilogue& ep,
                   float* c, int64_t ldc) {
  check_epilogue(ep);
  check_gemm_args(m, lda, w, ldc);
  if (m == 0) return;
  const TileKernel kern = kernel_for(cpu_isa_at("int8_gemm"));
  if (kern.tile) {
    detail::Int8Output out;
    out.kind = detail::Int8Out::F32;
    out.c = c;
    out.ldc = ldc;
    out.ep = &ep;
    return run_tiles(a, m, lda, w, out, kern);
  }
  run_gemm(a, m, lda, w, [&](int64_t m0, int64_t rows, int64_t n0, int64_t cols, const int32_t* acc) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) c[(m0 + i) * ldc + n0 + j] = dequantised(acc[i * 16 + j], m0 + i, n0 + j, w, ep);
  });
}

void int8_gemm_u8(const uint8_t* a, int64_t m, int64_t lda, const PackedInt8Weights& w, const Int8Epilogue& ep,
                  float out_scale, int32_t out_zero, uint8_t* c, int64_t ldc) {
  check_epilogue(ep);
  AM_CHECK(out_scale > 0 && std::isfinite(out_scale), ValueError, "int8_gemm_u8: out_scale must be positive, got ",
           out_scale);
  check_gemm_args(m, lda, w, ldc);
  if (m == 0) return;
  const float inv = 1.0f / out_scale;
  const TileKernel kern = kernel_for(cpu_isa_at("int8_gemm"));
  if (kern.tile) {
    detail::Int8Output out;
    out.kind = detail::Int8Out::U8;
    out.c = c;
    out.ldc = ldc;
    out.ep = &ep;
    out.inv_out_scale = inv;
    out.out_zero = float(out_zero);
    return run_tiles(a, m, lda, w, out, kern);
  }
  run_gemm(a, m, lda, w, [&](int64_t m0, int64_t rows, int64_t n0, int64_t cols, const int32_t* acc) {
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        float q = std::nearbyint(dequantised(acc[i * 16 + j], m0 + i, n0 + j, w, ep) * inv) + float(out_zero);
        c[(m0 + i) * ldc + n0 + j] = uint8_t(std::min(255.0f, std::max(0.0f, q)));
      }
  });
}

const char* int8_gemm_kernel_name() { return kernel_for(cpu_isa()).name; }

}  // namespace aimass::quant
