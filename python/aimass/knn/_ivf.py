"""IVFFlatIndex (FAISS's IndexIVFFlat) and k-means clustering, over the native core
(csrc/knn/ivf_index.h, csrc/knn/kmeans.h)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._core import Tensor
from . import _index
from ._index import Index, _native


class KMeansResult(NamedTuple):
    """What kmeans returns; unpacks as (centroids, assignment, inertia, n_iter)."""
    centroids: np.ndarray   # (k, d) float32 (a Tensor on the device when x was a Tensor)
    assignment: np.ndarray  # (n,) int64: the nearest centroid of each row of x
    inertia: float          # sum of squared L2 distances of the rows to their centroids
    n_iter: int             # Lloyd iterations run (fewer than niter when it converged)


def kmeans(x, k: int, niter: int = 25, seed: int = 0, metric: str = "l2", max_points_per_centroid: int = 256,
           init=None, device=None) -> KMeansResult:
    """Clusters the rows of x (n, d) into k groups: k-means++ initialisation (seeded), then up to
    niter Lloyd iterations, stopping early when no assignment changes.

    metric "l2" is plain k-means; "cosine" clusters unit-length rows with unit centroids
    (spherical k-means); "ip" is spherical k-means on the rows as given (FAISS's choice for
    inner-product IVF). When n > k * max_points_per_centroid the iterations run on a random
    sample of that many rows (as FAISS; <= 0 disables), the final assignment covers every row.
    init (k, d) replaces the k-means++ start. Empty clusters are re-seeded by splitting the
    largest. device: where to run (default: x's device, the CPU for arrays).
    """
    like_tensor = isinstance(x, Tensor)
    if not like_tensor:
        x = np.asarray(x)
    if init is not None and not isinstance(init, Tensor):
        init = np.asarray(init)
    centroids, assignment, inertia, n_iter = _native.kmeans(
        x, int(k), int(niter), int(seed), metric, int(max_points_per_centroid), init, device)
    if not like_tensor:
        centroids = centroids.numpy() if centroids.device.type == "cpu" else centroids.cpu().numpy()
        assignment = assignment.numpy()
    return KMeansResult(centroids, assignment, float(inertia), int(n_iter))


class IVFFlatIndex(Index):
    """Inverted-file k-NN search (FAISS's IndexIVFFlat, plus cosine, ids, removal, filters).

    IVFFlatIndex(d, nlist, metric="l2" | "ip" | "cosine", device="cpu", dtype="float32" |
    "float16", niter=10, seed=0). train(x) runs k-means (niter iterations, seeded) on x to find
    nlist centroids; add(x) files each vector under its nearest centroid; search(q, k) scans
    the `nprobe` lists (default 1, as FAISS) whose centroids are nearest each query. With
    nprobe = nlist the results are exactly those of a FlatIndex over the same vectors.
    """

    def __init__(self, d: int, nlist: int, metric: str = "l2", device=None, dtype="float32", *, niter: int = 10,
                 seed: int = 0):
        self._impl = _native.IVFFlatIndex(int(d), int(nlist), metric, device, dtype, int(niter), int(seed))

    @property
    def nlist(self) -> int:
        return self._impl.nlist

    @property
    def nprobe(self) -> int:
        """Lists scanned per query, 1 .. nlist (larger values are clamped to nlist)."""
        return self._impl.nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"nprobe must be an integer, got {type(value).__name__}")
        self._impl.nprobe = int(value)

    @property
    def centroids(self) -> np.ndarray:
        """(nlist, d) float32: the coarse centroids (ValueError before training)."""
        return self._impl.centroids.numpy()

    @property
    def list_sizes(self) -> np.ndarray:
        """(nlist,) int64: how many vectors each list holds."""
        return self._impl.list_sizes.numpy()

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, nlist={self.nlist}, nprobe={self.nprobe})"


_index._CLASSES["IVFFlatIndex"] = IVFFlatIndex
