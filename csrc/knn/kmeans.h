// k-means clustering (FAISS's Clustering): k-means++ initialisation, then Lloyd iterations
// whose assignment step is ops/knn.h's flat search with k = 1, so it runs unchanged on the CPU
// or a CUDA device. It trains IVFFlatIndex's coarse quantizer and is exposed as am.knn.kmeans.
//
//   KMeansOptions opt; opt.k = 256;
//   KMeansResult r = kmeans(x, opt);   // x (n, d) -> r.centroids (256, d), r.assignment (n,)
//
// The rules, so that a reference can reproduce a run exactly:
// - Training set: x itself when n <= k * max_points_per_centroid, else that many rows drawn
//   without replacement (seeded). The final assignment and inertia cover every row of x.
// - Initialisation (unless given): k-means++ (D^2 sampling) on at most max(8k, 1024) rows of
//   the training set, so it stays fast for k in the thousands.
// - Iteration: assign every training row to its nearest centroid (ties: smaller index), then
//   each centroid becomes the mean of its rows. Empty clusters are then re-seeded in index
//   order, each from the current largest cluster (smaller index among equals), as FAISS does:
//   the empty one takes the largest one's centroid, the two move apart by a factor 1 +- 1/1024
//   alternating over dimensions (even dimensions: empty one * (1 + eps), donor * (1 - eps); odd
//   ones the reverse), and the donor's count is shared between them (empty one floor(count /
//   2)). Last, spherical k-means rescales every centroid to unit length.
// - Stops after niter iterations, or sooner when an assignment step changes nothing.
#pragma once
#include <cstdint>

#include "core/device.h"
#include "core/tensor.h"
#include "knn/index.h"
#include "ops/knn.h"

namespace aimass::knn {

struct KMeansOptions {
  int64_t k = 1;
  int64_t niter = 25;
  uint64_t seed = 0;
  // L2: nearest by squared distance. InnerProduct with spherical: nearest by inner product,
  // centroids of unit length (cosine clustering of unit rows; FAISS's IVF for inner product).
  KnnMetric metric = KnnMetric::L2;
  bool spherical = false;
  int64_t max_points_per_centroid = 256;  // <= 0: no subsampling
  Tensor init;                            // (k, d) initial centroids, or undefined: k-means++
};

struct KMeansResult {
  Tensor centroids;   // (k, d) float32 on x's device
  Tensor assignment;  // (n,) int64 on the CPU: the nearest centroid of each row of x
  double inertia = 0; // sum over x of the squared L2 distance to its assigned centroid
  int64_t n_iter = 0; // Lloyd iterations run
};

// x: (n, d) float32 contiguous, finite (the caller checks and converts; see vectors.h), on the
// device to run on. ValueError (naming `what`) when k < 1, k > n, niter < 0, or init is not
// (k, d) finite.
KMeansResult kmeans(const Tensor& x, const KMeansOptions& options, const char* what = "kmeans");

// am.knn.kmeans: x (n, d) floating on any device (ValueError on a wrong rank, NaN, infinity),
// clustered on `device`. L2: plain k-means; cosine: unit rows, spherical; ip: spherical on the
// rows as given (FAISS's clustering for an inner-product IVF). Sets options.metric / spherical.
KMeansResult kmeans(const Tensor& x, Metric metric, Device device, KMeansOptions options);

}  // namespace aimass::knn
