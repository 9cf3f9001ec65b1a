"""am.knn.kmeans against a NumPy Lloyd reference with the same start (plain and spherical,
empty-cluster splits), blobs recovered exactly, k = 1 and k = n, inertia non-increasing,
seeds, subsampling, and errors."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

EPS = 1 / 1024  # the split factor kmeans.h documents


def ref_assign(x, c, spherical):
    x, c = np.asarray(x, np.float64), np.asarray(c, np.float64)
    if spherical:
        return np.argmax(x @ c.T, axis=1)  # first index among ties, as the kernel
    d2 = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
    return np.argmin(d2, axis=1)


def ref_kmeans(x, init, niter, spherical=False):
    """Lloyd's iterations by kmeans.h's rules: means, empty clusters split from the largest,
    unit centroids when spherical, stop when an assignment repeats."""
    x = np.asarray(x, np.float64)
    c = np.array(init, np.float64)
    if spherical:
        c /= np.linalg.norm(c, axis=1, keepdims=True)
    k, d = c.shape
    prev, n_iter = None, 0
    for it in range(niter):
        a = ref_assign(x, c, spherical)
        if prev is not None and np.array_equal(a, prev):
            break
        sizes = np.bincount(a, minlength=k)
        for j in range(k):
            if sizes[j]:
                c[j] = x[a == j].mean(0)
        up = np.where(np.arange(d) % 2 == 0, 1 + EPS, 1 - EPS)
        down = np.where(np.arange(d) % 2 == 0, 1 - EPS, 1 + EPS)
        for e in range(k):
            if sizes[e] == 0:
                big = int(np.argmax(sizes))
                c[e], c[big] = c[big] * up, c[big] * down
                sizes[e] = sizes[big] // 2
                sizes[big] -= sizes[e]
        if spherical:
            norms = np.linalg.norm(c, axis=1, keepdims=True)
            c = np.where(norms > 0, c / np.where(norms > 0, norms, 1), c)
        prev, n_iter = a, it + 1
    a = ref_assign(x, c, spherical)
    return c, a, float(((x - c[a]) ** 2).sum()), n_iter


def blobs(rng, k, per, d, spread=0.05):
    centres = rng.standard_normal((k, d)) * 10
    labels = np.repeat(np.arange(k), per)
    x = centres[labels] + rng.standard_normal((k * per, d)) * spread
    return x.astype(np.float32), labels, centres


def same_partition(a, b):
    """a and b group the points identically, up to renaming the clusters."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("niter", [1, 3, 25])
def test_matches_numpy_lloyd(rng, niter):
    x = rng.standard_normal((300, 6)).astype(np.float32)
    init = x[rng.choice(300, 5, replace=False)]
    r = am.knn.kmeans(x, 5, niter=niter, init=init)
    c, a, inertia, n_iter = ref_kmeans(x, init, niter)
    assert r.n_iter == n_iter
    np.testing.assert_array_equal(r.assignment, a)
    np.testing.assert_allclose(r.centroids, c, rtol=1e-5, atol=1e-5)
    assert r.inertia == pytest.approx(inertia, rel=1e-6)


def test_result_types_and_tuple(rng):
    x = rng.standard_normal((50, 3)).astype(np.float32)
    centroids, assignment, inertia, n_iter = am.knn.kmeans(x, 4)
    assert centroids.shape == (4, 3) and centroids.dtype == np.float32
    assert assignment.shape == (50,) and assignment.dtype == np.int64
    assert assignment.min() >= 0 and assignment.max() < 4
    assert isinstance(inertia, float) and isinstance(n_iter, int) and 1 <= n_iter <= 25


def test_inertia_non_increasing(rng):
    x = rng.standard_normal((400, 5)).astype(np.float32)
    inertias = [am.knn.kmeans(x, 12, niter=it, seed=3).inertia for it in range(8)]
    assert all(b <= a * (1 + 1e-9) for a, b in zip(inertias, inertias[1:])), inertias
    assert inertias[-1] < inertias[0]


def test_blobs_recovered_exactly(rng):
    x, labels, centres = blobs(rng, 8, 40, 4)
    r = am.knn.kmeans(x, 8, seed=0)
    assert same_partition(r.assignment, labels)
    for j in range(8):
        np.testing.assert_allclose(r.centroids[j], x[r.assignment == j].mean(0), rtol=1e-5, atol=1e-5)
    assert r.inertia == pytest.approx(((x - centres[labels].astype(np.float32)) ** 2).sum(), rel=0.2)


def test_k1_is_the_mean(rng):
    x = rng.standard_normal((64, 7)).astype(np.float32)
    r = am.knn.kmeans(x, 1)
    np.testing.assert_allclose(r.centroids[0], x.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(r.assignment, np.zeros(64))
    assert r.inertia == pytest.approx(((x - x.astype(np.float64).mean(0)) ** 2).sum(), rel=1e-6)


def test_k_equals_n(rng):
    x = rng.standard_normal((20, 3)).astype(np.float32)
    r = am.knn.kmeans(x, 20)
    assert sorted(r.assignment.tolist()) == list(range(20))
    np.testing.assert_allclose(r.centroids[r.assignment], x, atol=1e-6)
    assert r.inertia == pytest.approx(0.0, abs=1e-9)


def test_empty_cluster_is_split_from_the_largest(rng):
    x, labels, _ = blobs(rng, 3, 30, 4)
    x = np.concatenate([x[:60], x[60:70]])  # sizes 30, 30, 10
    init = np.stack([x[0], x[35], np.full(4, 1000.0, np.float32)])  # the third attracts nothing
    r = am.knn.kmeans(x, 3, niter=1, init=init)
    c, a, inertia, _ = ref_kmeans(x, init, 1)
    np.testing.assert_allclose(r.centroids, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(r.assignment, a)
    # Run on, every cluster ends up holding points.
    r = am.knn.kmeans(x, 3, niter=25, init=init)
    assert np.bincount(r.assignment, minlength=3).min() > 0


def test_seed_reproducible(rng):
    x = rng.standard_normal((500, 8)).astype(np.float32)
    a, b = am.knn.kmeans(x, 10, seed=7), am.knn.kmeans(x, 10, seed=7)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    c = am.knn.kmeans(x, 10, seed=8, niter=0)
    assert not np.array_equal(a.centroids, c.centroids)


def test_init_points_are_data_points(rng):
    x = rng.standard_normal((200, 4)).astype(np.float32)
    r = am.knn.kmeans(x, 6, niter=0, seed=2)  # k-means++ only: every centre is a row of x
    rows = {tuple(v) for v in x.tolist()}
    assert all(tuple(c) in rows for c in r.centroids.tolist())
    assert len({tuple(c) for c in r.centroids.tolist()}) == 6


def test_cosine_is_spherical(rng):
    x = rng.standard_normal((300, 5)).astype(np.float32)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    init = xn[:4] * 3  # any scale: centroids start unit length
    r = am.knn.kmeans(x, 4, niter=10, metric="cosine", init=init)
    c, a, inertia, n_iter = ref_kmeans(xn, init, 10, spherical=True)
    np.testing.assert_allclose(np.linalg.norm(r.centroids, axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(r.assignment, a)
    np.testing.assert_allclose(r.centroids, c, rtol=1e-4, atol=1e-5)
    assert r.n_iter == n_iter and r.inertia == pytest.approx(inertia, rel=1e-5)


def test_cosine_split_centroids_stay_unit(rng):
    x = (np.abs(rng.standard_normal((200, 4))) + 0.1).astype(np.float32)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    init = np.stack([xn[0], xn[1], -np.ones(4, np.float32)])  # the third is the farthest from every row
    r = am.knn.kmeans(x, 3, niter=1, metric="cosine", init=init)
    c, a, _, _ = ref_kmeans(xn, init, 1, spherical=True)
    np.testing.assert_allclose(np.linalg.norm(r.centroids, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(r.centroids, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(r.assignment, a)


def test_subsample_trains_on_a_sample_and_assigns_everything(rng):
    x, labels, _ = blobs(rng, 4, 300, 3)
    r = am.knn.kmeans(x, 4, max_points_per_centroid=20)  # 80 of 1200 rows train
    assert r.assignment.shape == (1200,)
    assert same_partition(r.assignment, labels)
    full = am.knn.kmeans(x, 4, max_points_per_centroid=0)
    assert same_partition(full.assignment, labels)


def test_tensor_in_tensor_out(rng):
    x = rng.standard_normal((40, 3)).astype(np.float32)
    r = am.knn.kmeans(am.tensor(x), 3, seed=1)
    assert isinstance(r.centroids, am.Tensor)
    np.testing.assert_array_equal(r.centroids.numpy(), am.knn.kmeans(x, 3, seed=1).centroids)


@pytest.mark.parametrize("x, k, kw, match", [
    (np.zeros((10, 2), np.float32), 0, {}, "k must be at least 1"),
    (np.zeros((10, 2), np.float32), 11, {}, "exceeds the number of points"),
    (np.zeros(10, np.float32), 2, {}, "2-D"),
    (np.zeros((2, 5, 2), np.float32), 2, {}, "2-D"),
    (np.array([[0.0, np.nan], [1, 1]], np.float32), 1, {}, "NaN"),
    (np.array([[0.0, np.inf], [1, 1]], np.float32), 1, {}, "infinity"),
    (np.zeros((10, 2), np.float32), 2, {"niter": -1}, "niter"),
    (np.zeros((10, 2), np.float32), 2, {"init": np.zeros((3, 2))}, "init must be"),
    (np.zeros((10, 2), np.float32), 2, {"metric": "hamming"}, "unknown metric"),
])
def test_errors(x, k, kw, match):
    with pytest.raises(ValueError, match=match):
        am.knn.kmeans(x, k, **kw)


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="floating"):
        am.knn.kmeans(np.zeros((4, 2), np.int64), 2)


def test_inertia_close_to_faiss(rng):
    faiss = pytest.importorskip("faiss")
    centres = rng.standard_normal((40, 16)) * 2
    x = (centres[rng.integers(0, 40, 4000)] + rng.standard_normal((4000, 16))).astype(np.float32)
    ours = am.knn.kmeans(x, 40, niter=25, seed=1)
    km = faiss.Kmeans(16, 40, niter=25, seed=1)
    km.train(x)
    _, assign = km.index.search(x, 1)
    theirs = float(((x.astype(np.float64) - km.centroids[assign[:, 0]]) ** 2).sum())
    assert ours.inertia <= theirs * 1.05, (ours.inertia, theirs)
