// Runs the CUDA k-NN entry points (emulated on the host) against the CPU kernels.
#include <cstdio>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "ops/kernels/knn.h"
#include <cublas_v2.h>

// aimass_cuda_knn_flat_search and aimass_cuda_knn_ivf_search: declared by ops/kernels/knn.h.
namespace aimass::gpu {
cublasHandle_t cublas_handle(int) { return nullptr; }
}

using namespace aimass;
std::mt19937 rng(5);
int failures = 0;

Tensor ints(int64_t n, int64_t d, DType dt, int lo = -3, int hi = 3) {
  Tensor t = Tensor::empty({n, d}, dt);
  std::uniform_int_distribution<int> u(lo, hi);
  for (int64_t i = 0; i < n * d; ++i) {
    if (dt == DType::Float32) t.data<float>()[i] = float(u(rng));
    else t.data<Half>()[i] = Half(float(u(rng)));
  }
  return t;
}
Tensor norms_of(const Tensor& x) {
  const int64_t n = x.shape()[0], d = x.shape()[1];
  Tensor t = Tensor::empty({n}, DType::Float32);
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int64_t j = 0; j < d; ++j) {
      const float v = x.dtype() == DType::Float32 ? x.data<float>()[i * d + j] : float(x.data<Half>()[i * d + j]);
      s += v * v;
    }
    t.data<float>()[i] = s;
  }
  return t;
}
Tensor shuffled_ids(int64_t n) {
  Tensor t = Tensor::empty({n}, DType::Int64);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i * 7 - 3 * n;
  std::shuffle(v.begin(), v.end(), rng);
  for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = v[size_t(i)];
  return t;
}
Tensor mask(int64_t n, double p) {
  Tensor t = Tensor::empty({n}, DType::Bool);
  std::bernoulli_distribution b(p);
  for (int64_t i = 0; i < n; ++i) t.data<bool>()[i] = b(rng);
  return t;
}

void compare(const char* what, const Tensor& d1, const Tensor& i1, const Tensor& d2, const Tensor& i2) {
  for (int64_t j = 0; j < d1.numel(); ++j) {
    const float a = d1.data<float>()[j], b = d2.data<float>()[j];
    if (i1.data<int64_t>()[j] != i2.data<int64_t>()[j] || !(a == b || (std::isinf(a) && a == b))) {
      std::printf("FAIL %s at %ld: emu (%g, %ld) cpu (%g, %ld)\n", what, long(j), a, long(i1.data<int64_t>()[j]), b,
                  long(i2.data<int64_t>()[j]));
      ++failures;
      return;
    }
  }
}

void flat_case(int64_t nq, int64_t nb, int64_t d, int64_t k, DType dt, KnnMetric m, bool filt) {
  Tensor q = ints(nq, d, DType::Float32), x = ints(nb, d, dt);
  Tensor nrm = m == KnnMetric::L2 ? norms_of(x) : Tensor(), ids = shuffled_ids(nb);
  Tensor ok = filt ? mask(nb, 0.3) : Tensor();
  Tensor d1 = Tensor::empty({nq, k}, DType::Float32), i1 = Tensor::empty({nq, k}, DType::Int64);
  Tensor d2 = Tensor::empty({nq, k}, DType::Float32), i2 = Tensor::empty({nq, k}, DType::Int64);
  aimass_cuda_knn_flat_search(q, x, nrm, ids, ok, m, d1, i1);
  cpu::knn_flat_search(q, x, nrm, ids, ok, m, d2, i2);
  char what[200];
  std::snprintf(what, sizeof what, "flat nq %ld nb %ld d %ld k %ld %s %s%s", long(nq), long(nb), long(d), long(k),
                dt == DType::Float32 ? "f32" : "f16", m == KnnMetric::L2 ? "l2" : "ip", filt ? " filtered" : "");
  compare(what, d1, i1, d2, i2);
  std::printf("%s done\n", what);
  std::fflush(stdout);
}

void ivf_case(int64_t nq, int64_t nlist, int64_t ntotal, int64_t d, int64_t k, int64_t nprobe, DType dt, KnnMetric m,
              bool filt) {
  Tensor q = ints(nq, d, DType::Float32), x = ints(ntotal, d, dt);
  Tensor nrm = m == KnnMetric::L2 ? norms_of(x) : Tensor(), ids = shuffled_ids(ntotal);
  Tensor ok = filt ? mask(ntotal, 0.5) : Tensor();
  // Offsets: random list sizes (some empty) summing to ntotal.
  Tensor off = Tensor::empty({nlist + 1}, DType::Int64);
  std::vector<int64_t> cuts(static_cast<size_t>(nlist - 1));
  std::uniform_int_distribution<int64_t> u(0, ntotal);
  for (auto& c : cuts) c = u(rng);
  std::sort(cuts.begin(), cuts.end());
  off.data<int64_t>()[0] = 0;
  for (int64_t l = 1; l < nlist; ++l) off.data<int64_t>()[l] = cuts[size_t(l - 1)];
  off.data<int64_t>()[nlist] = ntotal;
  Tensor probes = Tensor::empty({nq, nprobe}, DType::Int64);
  std::uniform_int_distribution<int64_t> pl(-1, nlist - 1);
  for (int64_t i = 0; i < nq * nprobe; ++i) probes.data<int64_t>()[i] = pl(rng);  // -1 and repeats included
  Tensor d1 = Tensor::empty({nq, k}, DType::Float32), i1 = Tensor::empty({nq, k}, DType::Int64);
  Tensor d2 = Tensor::empty({nq, k}, DType::Float32), i2 = Tensor::empty({nq, k}, DType::Int64);
  aimass_cuda_knn_ivf_search(q, x, nrm, ids, ok, off, probes, m, d1, i1);
  cpu::knn_ivf_search(q, x, nrm, ids, ok, off, probes, m, d2, i2);
  char what[200];
  std::snprintf(what, sizeof what, "ivf nq %ld nlist %ld ntotal %ld d %ld k %ld nprobe %ld %s %s%s", long(nq),
                long(nlist), long(ntotal), long(d), long(k), long(nprobe), dt == DType::Float32 ? "f32" : "f16",
                m == KnnMetric::L2 ? "l2" : "ip", filt ? " filtered" : "");
  compare(what, d1, i1, d2, i2);
  // Out-of-range list numbers are skipped like -1 (the CPU kernel is never given them).
  for (int64_t i = 0; i < nq * nprobe; i += 3)
    if (probes.data<int64_t>()[i] == -1) probes.data<int64_t>()[i] = (i % 2) ? nlist + 5 : -7;
  aimass_cuda_knn_ivf_search(q, x, nrm, ids, ok, off, probes, m, d1, i1);
  compare("ivf out-of-range probes", d1, i1, d2, i2);
  std::printf("%s done\n", what);
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  const auto L2 = KnnMetric::L2, IP = KnnMetric::InnerProduct;
  const auto F32 = DType::Float32, F16 = DType::Float16;
  if (which == "quick") {  // a few small cases, e.g. for a run under -fsanitize=thread
    flat_case(2, 1200, 3, 10, F32, L2, true);
    flat_case(2, 1200, 3, 1100, F16, IP, false);
    ivf_case(2, 4, 700, 3, 10, 3, F32, L2, true);
    ivf_case(2, 4, 700, 3, 1100, 3, F32, IP, false);
  }
  if (which == "all" || which == "flat") {
    flat_case(3, 2500, 7, 10, F32, L2, false);    // small path, 3 base tiles, parts
    flat_case(3, 2500, 7, 10, F16, IP, true);
    flat_case(50, 2500, 5, 100, F32, IP, false);  // query tiles of 40
    flat_case(2, 2500, 6, 1024, F32, L2, true);
    flat_case(2, 2500, 6, 1500, F32, L2, false);  // radix path over 3 tiles
    flat_case(12, 2500, 3, 1500, F16, IP, true);  // radix, query tiles of 5
    flat_case(2, 900, 4, 2000, F32, L2, false);   // k > nb: empty slots
    flat_case(2, 900, 4, 300, F32, L2, true);     // k > allowed
    flat_case(3, 0, 4, 5, F32, L2, false);        // nb = 0
    flat_case(0, 50, 4, 5, F32, L2, false);       // nq = 0
    flat_case(2, 300, 1, 20, F32, L2, false);     // d = 1: massive ties
    flat_case(2, 300, 0, 20, F32, IP, false);     // d = 0: all zero
    flat_case(2, 300, 1200, 20, F16, L2, false);  // fp16 query tile bound (2000 bytes): one query a tile
  }
  if (which == "all" || which == "ivf") {
    ivf_case(3, 6, 2000, 5, 10, 4, F32, L2, false);   // parts (few queries)
    ivf_case(3, 6, 2000, 5, 10, 4, F16, IP, true);
    ivf_case(300, 6, 400, 3, 7, 3, F32, L2, false);   // one part per query
    ivf_case(2, 5, 2000, 4, 1100, 3, F32, L2, false); // radix, chunks of 300
    ivf_case(7, 5, 2000, 4, 1300, 5, F16, IP, true);  // radix, query tiles of 5
    ivf_case(2, 4, 500, 3, 20, 0, F32, L2, false);    // nprobe = 0
    ivf_case(2, 4, 0, 3, 20, 2, F32, IP, false);      // empty lists
  }
  std::printf("%s\n", failures ? "FAILED" : "ALL OK");
  return failures ? 1 : 0;
}
