"""am.knn.IVFFlatIndex against NumPy: with nprobe = nlist it is a FlatIndex (every metric,
float16, small and large batches); with fewer probes it is exact search over the probed lists
(search and range_search), recall grows with nprobe; filters, removal, duplicate ids, errors,
reconstruct, save / load (and damaged files), and FAISS's IndexIVFFlat where installed."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

METRICS = ["l2", "ip", "cosine"]


def clustered(rng, n, d, groups=16, spread=0.3):
    centres = rng.standard_normal((groups, d)) * 3
    return (centres[rng.integers(0, groups, n)] + rng.standard_normal((n, d)) * spread).astype(np.float32)


def unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def scores(q, x, metric):
    """(nq, n) float64: squared L2 distances, or similarities for ip / cosine."""
    q, x = np.asarray(q, np.float64), np.asarray(x, np.float64)
    if metric == "cosine":
        q, x = unit(q), unit(x)
    if metric == "l2":
        return ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return q @ x.T


def ref_lists(index, x):
    """Each stored row's list, recomputed from the index's centroids (float64)."""
    c = index.centroids.astype(np.float64)
    if index.metric == "l2":
        return np.argmin(scores(x, c, "l2"), axis=1)
    return np.argmax(scores(x, c, "ip" if index.metric == "ip" else "cosine"), axis=1)


def ref_probes(index, q, nprobe):
    c = index.centroids.astype(np.float64)
    s = scores(q, c, "l2" if index.metric == "l2" else ("ip" if index.metric == "ip" else "cosine"))
    return np.argsort(s if index.metric == "l2" else -s, axis=1, kind="stable")[:, :nprobe]


def ref_search(q, x, ids, metric, k, candidates=None):
    """Top k by float64 scores over candidate rows (bool (nq, n)), ties by smaller id."""
    s = scores(q, x, metric)
    bad = np.inf if metric == "l2" else -np.inf
    if candidates is not None:
        s = np.where(candidates, s, bad)
    out_d, out_i = [], []
    for row in s:
        key = row if metric == "l2" else -row
        order = np.lexsort((ids, key))[:k]
        keep = np.isfinite(row[order])
        out_d.append(np.where(keep, row[order], bad))
        out_i.append(np.where(keep, ids[order], -1))
    return np.array(out_d), np.array(out_i)


def assert_same_neighbours(d, i, ref_d, ref_i, rtol=1e-4, atol=1e-3):
    """Scores agree within float32 rounding; ids agree except where two neighbours' scores tie
    within that rounding (then either order is right)."""
    np.testing.assert_allclose(d, ref_d, rtol=rtol, atol=atol)
    k = ref_i.shape[1]
    for r, c in zip(*np.nonzero(i != ref_i)):
        tie = atol + rtol * abs(ref_d[r, c])
        near = [cc for cc in (c - 1, c + 1) if 0 <= cc < k and abs(ref_d[r, cc] - ref_d[r, c]) <= tie]
        assert near or c == k - 1, f"query {r}, rank {c}: id {i[r, c]} instead of {ref_i[r, c]}"
    assert (i != ref_i).mean() < 0.01


def build(rng, metric="l2", n=2000, d=16, nlist=16, dtype="float32", ids=None):
    x = clustered(rng, n, d)
    index = am.knn.IVFFlatIndex(d, nlist, metric=metric, dtype=dtype)
    index.train(x)
    index.add(x, ids)
    return index, x


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("nq", [1, 5, 300], ids=["single", "few", "batched"])
def test_all_lists_equals_flat(rng, metric, dtype, nq):
    index, x = build(rng, metric, dtype=dtype)
    flat = am.knn.FlatIndex(16, metric=metric, dtype=dtype)
    flat.add(x)
    q = clustered(rng, nq, 16)
    index.nprobe = index.nlist
    for k in (1, 10, 100):
        d1, i1 = index.search(q, k)
        d2, i2 = flat.search(q, k)
        assert_same_neighbours(d1, i1, d2, i2, rtol=1e-5, atol=1e-4)
    if dtype == "float32":
        ref_d, ref_i = ref_search(q, x, np.arange(len(x)), metric, 10)
        assert_same_neighbours(*index.search(q, 10), ref_d, ref_i)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("nq", [3, 400], ids=["per_query", "batched"])
def test_search_is_exact_over_probed_lists(rng, metric, nq):
    index, x = build(rng, metric, nlist=16)
    lists = ref_lists(index, x)
    np.testing.assert_array_equal(np.bincount(lists, minlength=16), index.list_sizes)
    q = clustered(rng, nq, 16)
    for nprobe in (1, 3):
        index.nprobe = nprobe
        probes = ref_probes(index, q, nprobe)
        candidates = (lists[None, :, None] == probes[:, None, :]).any(-1)
        ref_d, ref_i = ref_search(q, x, np.arange(len(x)), metric, 10, candidates)
        assert_same_neighbours(*index.search(q, 10), ref_d, ref_i)


def test_batched_and_single_queries_agree(rng):
    index, _ = build(rng, n=3000, nlist=8)
    index.nprobe = 3
    q = clustered(rng, 200, 16)
    d_all, i_all = index.search(q, 20)  # 200 * 3 >= 8 per list: the GEMM path
    for j in range(0, 200, 37):
        d1, i1 = index.search(q[j], 20)
        assert_same_neighbours(d1, i1, d_all[j:j + 1], i_all[j:j + 1], rtol=1e-5, atol=1e-4)


def test_few_large_queries_split_across_threads(rng):
    # 1 or 3 queries over 16 lists of 20000 x 64 rows: enough work to share the lists out among
    # the pool threads (the batched kernel with direct dot products).
    index, x = build(rng, n=20000, d=64, nlist=16)
    flat = am.knn.FlatIndex(64)
    flat.add(x)
    index.nprobe = 16
    q = clustered(rng, 3, 64)
    before = am.get_num_threads()
    try:
        for threads in (1, 2, 3):
            am.set_num_threads(threads)
            for nq in (1, 3):
                assert_same_neighbours(*index.search(q[:nq], 10), *flat.search(q[:nq], 10), rtol=1e-5, atol=1e-4)
    finally:
        am.set_num_threads(before)


def test_more_queries_than_one_batched_pass(rng):
    index, x = build(rng, n=500, d=8, nlist=4)
    flat = am.knn.FlatIndex(8)
    flat.add(x)
    index.nprobe = 4
    q = clustered(rng, 9000, 8)  # the batched kernel takes 8192 queries per pass
    assert_same_neighbours(*index.search(q, 5), *flat.search(q, 5), rtol=1e-5, atol=1e-4)


def test_recall_grows_with_nprobe(rng):
    x = rng.standard_normal((4000, 24)).astype(np.float32)
    index = am.knn.IVFFlatIndex(24, 32)
    index.train(x)
    index.add(x)
    q = rng.standard_normal((100, 24)).astype(np.float32)
    _, truth = ref_search(q, x, np.arange(len(x)), "l2", 10)
    recalls = []
    for nprobe in (1, 2, 4, 8, 16, 32):
        index.nprobe = nprobe
        _, ids = index.search(q, 10)
        recalls.append(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth)]))
    assert all(b >= a for a, b in zip(recalls, recalls[1:])), recalls
    assert recalls[0] < 0.7 and recalls[-1] == 1.0


@pytest.mark.parametrize("form", ["ids", "mask"])
@pytest.mark.parametrize("nprobe", [2, 16])
def test_filters_honoured(rng, form, nprobe):
    ids = rng.permutation(5000)[:2000].astype(np.int64)
    index, x = build(rng, ids=ids)
    index.nprobe = nprobe
    allowed = rng.choice(ids, 300, replace=False)
    filt = allowed if form == "ids" else np.isin(np.arange(5000), allowed)
    q = clustered(rng, 50, 16)
    d, got = index.search(q, 20, filter=filt)
    assert np.isin(got[got >= 0], allowed).all()
    if nprobe == 16:
        ref_d, ref_i = ref_search(q, x, ids, "l2", 20, np.isin(ids, allowed)[None, :].repeat(50, 0))
        assert_same_neighbours(d, got, ref_d, ref_i)
    lims, _, rids = index.range_search(q, 5.0, filter=filt)
    assert np.isin(rids, allowed).all()


def test_filter_leaving_too_few_fills_with_minus_one(rng):
    index, _ = build(rng)
    index.nprobe = 16
    d, i = index.search(clustered(rng, 2, 16), 5, filter=np.array([3, 7]))
    assert (np.sort(i[:, :2], axis=1) == [3, 7]).all() and (i[:, 2:] == -1).all()
    assert np.isinf(d[:, 2:]).all()


def test_removed_ids_never_returned(rng):
    index, x = build(rng)
    index.nprobe = 16
    q = x[:20] + 0.01
    _, before = index.search(q, 5)
    gone = np.unique(before[:, 0])
    assert index.remove(np.concatenate([gone, [10**9]])) == len(gone)
    assert index.ntotal == 2000 - len(gone) and index.list_sizes.sum() == index.ntotal
    d, after = index.search(q, 50)
    assert not np.isin(after, gone).any()
    keep = ~np.isin(np.arange(2000), gone)
    ref_d, ref_i = ref_search(q, x[keep], np.arange(2000)[keep], "l2", 50)
    assert_same_neighbours(d, after, ref_d, ref_i)
    assert index.remove(gone) == 0
    with pytest.raises(ValueError, match="not in the index"):
        index.reconstruct(int(gone[0]))


def test_duplicate_ids_rejected_and_index_unchanged(rng):
    index, x = build(rng, n=200, nlist=4)
    with pytest.raises(ValueError, match="already in the index"):
        index.add(x[:3], np.array([5, 1000, 1001]))
    with pytest.raises(ValueError, match="appears twice"):
        index.add(x[:3], np.array([1000, 1001, 1000]))
    assert index.ntotal == 200
    with pytest.raises(ValueError, match="already in the index"):
        index.add(x[:3])  # default ids 200..202 are free, then 200.. again
        index.add(x[:3], np.array([200, 5000, 5001]))
    assert index.ntotal == 203


def test_incremental_adds_match_one_add(rng):
    x = clustered(rng, 1500, 16)
    ids = rng.permutation(10**6)[:1500]
    one = am.knn.IVFFlatIndex(16, 12)
    one.train(x)
    many = am.knn.IVFFlatIndex(16, 12)
    many.train(x)
    one.add(x, ids)
    for a, b in [(0, 1), (1, 400), (400, 400), (400, 1500)]:
        many.add(x[a:b], ids[a:b])
    np.testing.assert_array_equal(one.list_sizes, many.list_sizes)
    one.nprobe = many.nprobe = 4
    q = clustered(rng, 30, 16)
    np.testing.assert_array_equal(one.search(q, 10)[1], many.search(q, 10)[1])


def test_untrained_errors(rng):
    index = am.knn.IVFFlatIndex(8, 10)
    x = rng.standard_normal((20, 8)).astype(np.float32)
    assert not index.is_trained
    for call in (lambda: index.add(x), lambda: index.search(x, 1), lambda: index.range_search(x, 1.0),
                 lambda: index.centroids):
        with pytest.raises(ValueError, match="not trained"):
            call()
    with pytest.raises(ValueError, match="fewer than nlist = 10"):
        index.train(x[:9])
    index.train(x)
    assert index.is_trained and index.centroids.shape == (10, 8)
    index.add(x)
    with pytest.raises(ValueError, match="reset"):
        index.train(x)
    index.reset()
    assert index.ntotal == 0 and index.is_trained
    index.train(x)  # an empty index may be trained again


def test_k_and_empty_index_errors(rng):
    index, x = build(rng, n=100, nlist=4)
    with pytest.raises(ValueError, match="exceeds the 100 vectors"):
        index.search(x[:2], 101)
    with pytest.raises(ValueError, match="at least 1"):
        index.search(x[:2], 0)
    index.reset()
    with pytest.raises(ValueError, match="exceeds the 0 vectors"):
        index.search(x[:2], 1)
    lims, d, i = index.range_search(x[:2], 10.0)
    assert lims.tolist() == [0, 0, 0] and d.size == 0 and i.size == 0
    index.add(x[:3])
    assert index.search(x[:1], 1)[1][0, 0] == 0


def test_nprobe_setting():
    index = am.knn.IVFFlatIndex(4, 8)
    assert index.nprobe == 1
    index.nprobe = 5
    assert index.nprobe == 5
    index.nprobe = 100
    assert index.nprobe == 8
    with pytest.raises(ValueError, match="nprobe"):
        index.nprobe = 0
    with pytest.raises(TypeError, match="nprobe"):
        index.nprobe = 2.5


def test_constructor_errors():
    with pytest.raises(ValueError, match="nlist"):
        am.knn.IVFFlatIndex(4, 0)
    with pytest.raises(ValueError, match="unknown metric"):
        am.knn.IVFFlatIndex(4, 2, metric="manhattan")
    with pytest.raises(ValueError, match="d must be"):
        am.knn.IVFFlatIndex(0, 2)


def test_bad_vectors(rng):
    index, _ = build(rng, n=100, nlist=4)
    with pytest.raises(ValueError, match="columns"):
        index.add(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        index.search(np.full((1, 16), np.nan, np.float32), 1)
    assert index.ntotal == 100


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("nprobe", [1, 4])
def test_range_search_over_probed_lists(rng, metric, nprobe):
    index, x = build(rng, metric)
    index.nprobe = nprobe
    q = clustered(rng, 7, 16)
    radius = {"l2": 3.0, "ip": 40.0, "cosine": 0.9}[metric]
    lims, dist, ids = index.range_search(q, radius)
    lists = ref_lists(index, x)
    probes = ref_probes(index, q, nprobe)
    s = scores(q, x, metric)
    assert lims[0] == 0 and len(lims) == 8
    for i in range(7):
        probed = np.isin(lists, probes[i])
        hit = probed & ((s[i] < radius) if metric == "l2" else (s[i] > radius))
        order = np.lexsort((np.flatnonzero(hit), s[i][hit] if metric == "l2" else -s[i][hit]))
        np.testing.assert_array_equal(ids[lims[i]:lims[i + 1]], np.flatnonzero(hit)[order])
        np.testing.assert_allclose(dist[lims[i]:lims[i + 1]], s[i][hit][order], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("metric, dtype", [("l2", "float32"), ("cosine", "float32"), ("l2", "float16")])
def test_reconstruct(rng, metric, dtype):
    ids = np.arange(500) * 3 + 7
    index, x = build(rng, metric, n=500, nlist=8, dtype=dtype, ids=ids)
    want = unit(x) if metric == "cosine" else x.astype(np.float64)
    if dtype == "float16":
        want = want.astype(np.float16)
    for j in (0, 17, 499):
        np.testing.assert_allclose(index.reconstruct(ids[j]), want[j], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="not in the index"):
        index.reconstruct(8)


@pytest.mark.parametrize("metric", METRICS)
def test_save_load_round_trip(rng, tmp_path, metric):
    index, x = build(rng, metric, ids=rng.permutation(10**5)[:2000])
    index.nprobe = 3
    path = tmp_path / "ivf.knn"
    index.save(path)
    loaded = am.knn.load(path)
    assert isinstance(loaded, am.knn.IVFFlatIndex)
    assert (loaded.nlist, loaded.nprobe, loaded.metric, loaded.ntotal) == (16, 3, metric, 2000)
    np.testing.assert_array_equal(loaded.centroids, index.centroids)
    np.testing.assert_array_equal(loaded.list_sizes, index.list_sizes)
    q = clustered(rng, 40, 16)
    for a, b in zip(index.search(q, 10), loaded.search(q, 10)):
        np.testing.assert_array_equal(a, b)
    loaded.add(x[:1], [10**6])  # still usable
    assert loaded.ntotal == 2001


def test_save_load_untrained_and_empty(tmp_path):
    path = tmp_path / "empty.knn"
    am.knn.IVFFlatIndex(8, 4).save(path)
    loaded = am.knn.load(path)
    assert not loaded.is_trained and loaded.ntotal == 0 and loaded.nlist == 4


def test_damaged_files(rng, tmp_path):
    safetensors = pytest.importorskip("safetensors.numpy")
    index, _ = build(rng, n=300, nlist=4)
    path = tmp_path / "ivf.knn"
    index.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.knn").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.knn"):
        am.knn.load(tmp_path / "cut.knn")
    (tmp_path / "junk.knn").write_bytes(b"\x07" * 100)
    with pytest.raises(ValueError, match="junk.knn"):
        am.knn.load(tmp_path / "junk.knn")

    tensors = safetensors.load_file(str(path))
    from safetensors import safe_open
    with safe_open(str(path), framework="np") as f:
        meta = f.metadata()

    def tampered(name, **changes):
        t = dict(tensors, **changes)
        p = tmp_path / name
        safetensors.save_file({k: v for k, v in t.items() if v is not None}, str(p), metadata=meta)
        return p

    off = tensors["list_offsets"].copy()
    bad = off.copy(); bad[1], bad[2] = bad[2], bad[1] - 1
    cases = [
        (tampered("dec.knn", list_offsets=bad), "decrease"),
        (tampered("end.knn", list_offsets=off - np.r_[0, np.zeros(len(off) - 2, np.int64), 1]), "list_offsets run"),
        (tampered("short.knn", list_offsets=off[:-1]), "list_offsets"),
        (tampered("dup.knn", ids=np.r_[tensors["ids"][:-1], tensors["ids"][0]]), "id"),
        (tampered("neg.knn", ids=np.r_[tensors["ids"][:-1], -1]), "out of range"),
        (tampered("cshape.knn", centroids=tensors["centroids"][:2]), "centroids"),
        (tampered("nocent.knn", centroids=None), "centroids"),
        (tampered("nan.knn", centroids=np.full_like(tensors["centroids"], np.nan)), "NaN"),
        (tampered("vshape.knn", vectors=tensors["vectors"][:, :3]), "vectors"),
    ]
    for p, match in cases:
        with pytest.raises(ValueError, match=match) as e:
            am.knn.load(p)
        assert p.name in str(e.value)


def test_faiss_same_centroids_same_results(rng):
    faiss = pytest.importorskip("faiss")
    index, x = build(rng, n=3000, nlist=16)
    quantizer = faiss.IndexFlatL2(16)
    quantizer.add(index.centroids)
    fi = faiss.IndexIVFFlat(quantizer, 16, 16)
    fi.add(x)
    q = clustered(rng, 100, 16)
    for nprobe in (1, 4):
        index.nprobe = fi.nprobe = nprobe
        d1, i1 = index.search(q, 10)
        d2, i2 = fi.search(q, 10)
        assert (i1 == i2).mean() > 0.99
        np.testing.assert_allclose(d1, d2, rtol=1e-4, atol=1e-3)
