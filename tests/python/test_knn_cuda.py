"""The CUDA k-NN kernels (csrc/ops/cuda/knn_flat.cu, knn_ivf.cu) against the CPU ones, through
the public indexes: the same index searched on "cpu" and on "cuda" must give the same ids and
close distances.

Two kinds of data. Small integers: every score is exact in float32 (and in float16 with float32
accumulation), so ties are everywhere and only the (score, id) rule decides: ids and distances
must be equal. Random floats: cuBLAS and the CPU's BLAS round differently, so ids may swap only
between near-equal scores; every GPU id must be a real, allowed row whose float64 score is the
reported one.
"""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _needs_cuda(cuda_device):
    """Every test here skips, saying why, where CUDA is unavailable."""


def _np(x):
    return x if isinstance(x, np.ndarray) else np.asarray(x.cpu().numpy())


def _search(index, q, k, **kw):
    d, i = index.search(q, k, **kw)
    return _np(d).astype(np.float32), _np(i).astype(np.int64)


def _int_data(rng, n, d, dt=np.float32):
    return rng.integers(-3, 4, (n, d)).astype(dt)


def _flat_pair(d, metric, dtype, x, ids=None):
    """The same vectors in a CPU and a CUDA FlatIndex."""
    out = []
    for device in ("cpu", "cuda"):
        index = am.knn.FlatIndex(d, metric=metric, device=device, dtype=dtype)
        index.add(x, ids=ids)
        out.append(index)
    return out


def _assert_exact(cpu, gpu):
    np.testing.assert_array_equal(gpu[1], cpu[1])
    np.testing.assert_array_equal(gpu[0], cpu[0])


def _ref_scores(x, ids, q, metric):
    """float64 scores of every (query, row), and a map id -> row."""
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        x64 = x64 / np.maximum(np.linalg.norm(x64, axis=1, keepdims=True), 1e-30)
        q64 = q64 / np.maximum(np.linalg.norm(q64, axis=1, keepdims=True), 1e-30)
    ip = q64 @ x64.T
    if metric == "l2":
        return (q64**2).sum(1)[:, None] - 2 * ip + (x64**2).sum(1)[None, :]
    return ip


def _assert_close(cpu, gpu, x, ids, q, metric, tol, allowed=None):
    """Distances close slot by slot; where ids differ, a near-tie: the GPU's row is real,
    allowed, unique in its row, and its float64 score is the reported one."""
    (cd, ci), (gd, gi) = cpu, gpu
    scale = max(1.0, float(np.nanmean(np.abs(cd[np.isfinite(cd)]))) if np.isfinite(cd).any() else 1.0)
    np.testing.assert_allclose(gd, cd, rtol=tol, atol=tol * scale)
    np.testing.assert_array_equal(gi == -1, ci == -1)
    ref = _ref_scores(x, ids, q, metric)
    row_of = {int(v): r for r, v in enumerate(ids)}
    for qi, j in zip(*np.nonzero(gi != ci)):
        g = int(gi[qi, j])
        assert g in row_of, f"query {qi} slot {j}: id {g} is not in the index"
        assert allowed is None or g in allowed, f"query {qi} slot {j}: id {g} was filtered out"
        assert abs(ref[qi, row_of[g]] - gd[qi, j]) <= tol * scale, (qi, j, g, ref[qi, row_of[g]], gd[qi, j])
    for row in gi:
        real = row[row >= 0]
        assert len(np.unique(real)) == len(real)


# ---------------------------------------------------------------------------------------------
# flat


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("metric", ["l2", "ip"])
@pytest.mark.parametrize("k", [1, 10, 100, 1024, 2000, 3000])
def test_flat_ties_exact(rng, metric, dtype, k):
    # Both selection paths (k <= 1024 in shared memory, radix beyond), k up to ntotal.
    x, q = _int_data(rng, 3000, 24), _int_data(rng, 50, 24)
    cpu, gpu = _flat_pair(24, metric, dtype, x)
    _assert_exact(_search(cpu, q, k), _search(gpu, q, k))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
@pytest.mark.parametrize("k", [1, 10, 100, 1024, 2000])
def test_flat_random_close(rng, metric, dtype, k):
    x = rng.standard_normal((5000, 64)).astype(np.float32)
    q = rng.standard_normal((20, 64)).astype(np.float32)
    cpu, gpu = _flat_pair(64, metric, dtype, x)
    ids = np.arange(5000)
    # float16: the GPU also rounds the queries to float16 for the GEMM.
    tol = 1e-4 if dtype == "float32" else 4e-3
    xs = x if dtype == "float32" else x.astype(np.float16).astype(np.float32)
    if metric == "cosine" and dtype == "float16":
        tol = 1e-2  # normalised, then rounded to float16
    _assert_close(_search(cpu, q, k), _search(gpu, q, k), xs, ids, q, metric, tol)


@pytest.mark.parametrize("nq, nb, k", [(1, 100_000, 10), (1, 100_000, 1500), (3000, 20_000, 10), (3000, 3000, 1100)])
def test_flat_query_and_base_tiles(rng, nq, nb, k):
    # One query: the base split into parts per block, merged at the end; several base tiles of
    # 32768 rows; 3000 queries: several query tiles with the radix path's segmented sort.
    x, q = _int_data(rng, nb, 16), _int_data(rng, nq, 16)
    cpu, gpu = _flat_pair(16, "l2", "float32", x)
    _assert_exact(_search(cpu, q, k), _search(gpu, q, k))


@pytest.mark.parametrize("d", [1, 3, 130, 4100])
@pytest.mark.parametrize("k", [7, 1030])
def test_flat_dims(rng, d, k):
    x, q = _int_data(rng, 1500, d), _int_data(rng, 5, d)
    for metric in ("l2", "ip"):
        cpu, gpu = _flat_pair(d, metric, "float32", x)
        _assert_exact(_search(cpu, q, k), _search(gpu, q, k))


def test_flat_duplicate_rows(rng):
    # Rows equal to the query (distance exactly 0) and to each other: ordered by id.
    x = _int_data(rng, 400, 48)
    x[100:110] = x[3]
    q = x[[3, 200]]
    for metric in ("l2", "ip"):
        cpu, gpu = _flat_pair(48, metric, "float32", x)
        c, g = _search(cpu, q, 20), _search(gpu, q, 20)
        _assert_exact(c, g)
        if metric == "l2":
            assert list(g[1][0, :11]) == [3, *range(100, 110)]
            assert (g[0][0, :11] == 0).all()


@pytest.mark.parametrize("k", [5, 1500])
@pytest.mark.parametrize("kind", ["ids", "mask"])
def test_flat_filter(rng, k, kind):
    x, q = _int_data(rng, 3000, 20), _int_data(rng, 30, 20)
    allowed = np.sort(rng.choice(3000, 1000, replace=False)).astype(np.int64)
    if kind == "mask":
        filt = np.zeros(3000, bool)
        filt[allowed] = True
    else:
        filt = allowed
    for metric in ("l2", "ip"):
        cpu, gpu = _flat_pair(20, metric, "float32", x)
        c, g = _search(cpu, q, k, filter=filt), _search(gpu, q, k, filter=filt)
        _assert_exact(c, g)
        got = g[1][g[1] >= 0]
        assert np.isin(got, allowed).all()
        if k > 1000:  # more slots than allowed rows: the rest unfilled, with the worst score
            assert (g[1][:, 1000:] == -1).all()
            assert (g[0][:, 1000:] == (np.inf if metric == "l2" else -np.inf)).all()


@pytest.mark.parametrize("k", [3, 1200])
def test_flat_empty_result_slots(rng, k):
    # A filter that allows nothing: every slot unfilled.
    x, q = _int_data(rng, 2000, 8), _int_data(rng, 4, 8)
    for metric in ("l2", "ip"):
        cpu, gpu = _flat_pair(8, metric, "float32", x)
        c = _search(cpu, q, k, filter=np.zeros(0, np.int64))
        g = _search(gpu, q, k, filter=np.zeros(0, np.int64))
        _assert_exact(c, g)
        assert (g[1] == -1).all()


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_flat_custom_and_removed_ids(rng, dtype):
    n = 4000
    x, q = _int_data(rng, n, 12), _int_data(rng, 25, 12)
    ids = rng.choice(np.int64(1) << 50, n, replace=False).astype(np.int64)  # large, unordered
    cpu, gpu = _flat_pair(12, "l2", dtype, x, ids=ids)
    gone = ids[rng.choice(n, 1500, replace=False)]
    assert cpu.remove(gone) == 1500 and gpu.remove(gone) == 1500
    for k in (10, 1024, 2500):
        c, g = _search(cpu, q, k), _search(gpu, q, k)
        _assert_exact(c, g)
        assert not np.isin(g[1], gone).any()


# ---------------------------------------------------------------------------------------------
# IVF


# An IVF index is trained and filled once, then searched on the CPU and again after
# index.to("cuda"): both devices scan the very same lists.


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("metric", ["l2", "ip"])
@pytest.mark.parametrize("k", [1, 10, 1024, 1500])
def test_ivf_ties_exact(rng, metric, dtype, k):
    x, q = _int_data(rng, 4000, 16), _int_data(rng, 40, 16)
    index = am.knn.IVFFlatIndex(16, 16, metric=metric, dtype=dtype)
    index.train(x)
    index.add(x)
    for nprobe in (1, 3, 16):
        index.nprobe = nprobe
        index.to("cpu")
        c = _search(index, q, k)
        index.to("cuda")
        g = _search(index, q, k)
        _assert_exact(c, g)
        if nprobe == 1 and k == 1500:  # fewer rows in one list than k: unfilled slots
            assert (g[1] == -1).any()


@pytest.mark.parametrize("metric", ["l2", "ip", "cosine"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_ivf_random_close(rng, metric, dtype):
    x = rng.standard_normal((6000, 40)).astype(np.float32)
    q = rng.standard_normal((3000, 40)).astype(np.float32)  # many queries
    index = am.knn.IVFFlatIndex(40, 32, metric=metric, dtype=dtype)
    index.train(x)
    index.add(x)
    index.nprobe = 4
    xs = x if dtype == "float32" else x.astype(np.float16).astype(np.float32)
    tol = 1e-4 if dtype == "float32" else (1e-2 if metric == "cosine" else 4e-3)
    for k in (10, 1100):
        index.to("cpu")
        c = _search(index, q[:200] if k > 1024 else q, k)
        index.to("cuda")
        g = _search(index, q[:200] if k > 1024 else q, k)
        _assert_close(c, g, xs, np.arange(6000), q[:200] if k > 1024 else q, metric, tol)


@pytest.mark.parametrize("k", [5, 1200])
def test_ivf_filter_and_removed(rng, k):
    x, q = _int_data(rng, 3000, 10), _int_data(rng, 20, 10)
    index = am.knn.IVFFlatIndex(10, 8, metric="l2")
    index.train(x)
    index.add(x)
    gone = rng.choice(3000, 500, replace=False).astype(np.int64)
    index.remove(gone)
    allowed = rng.choice(3000, 1500, replace=False).astype(np.int64)
    index.nprobe = 5
    index.to("cpu")
    c = _search(index, q, k, filter=allowed)
    index.to("cuda")
    g = _search(index, q, k, filter=allowed)
    _assert_exact(c, g)
    got = g[1][g[1] >= 0]
    assert np.isin(got, allowed).all() and not np.isin(got, gone).any()


@pytest.mark.parametrize("d", [1, 130, 4100])
def test_ivf_dims(rng, d):
    x, q = _int_data(rng, 1200, d), _int_data(rng, 6, d)
    index = am.knn.IVFFlatIndex(d, 4, metric="ip")
    index.train(x)
    index.add(x)
    index.nprobe = 2
    for k in (9, 1100):
        index.to("cpu")
        c = _search(index, q, k)
        index.to("cuda")
        g = _search(index, q, k)
        _assert_exact(c, g)
