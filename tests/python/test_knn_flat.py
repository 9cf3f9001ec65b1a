"""am.knn.FlatIndex against float64 brute force in NumPy (and FAISS where installed).

Random data checks distances to float32 rounding and ids where the neighbours are clearly
separated; integer-valued data (computed exactly in float32) checks the tie rule: equal
distances go to the smaller id."""
from __future__ import annotations

import os

import numpy as np
import pytest

import aimass as am

METRICS = ["l2", "ip", "cosine"]


def brute_force(xb, xq, metric, ids=None):
    """(nq, nb) scores in float64, and the order best first with ties by smaller id."""
    xb = np.asarray(xb, np.float64)
    xq = np.asarray(xq, np.float64)
    ids = np.arange(len(xb)) if ids is None else np.asarray(ids)
    if metric == "cosine":
        xb = xb / np.maximum(np.linalg.norm(xb, axis=1, keepdims=True), 1e-30)
        xq = xq / np.maximum(np.linalg.norm(xq, axis=1, keepdims=True), 1e-30)
    if metric == "l2":
        scores = ((xq[:, None, :] - xb[None, :, :]) ** 2).sum(-1)
        keys = scores
    else:
        scores = xq @ xb.T
        keys = -scores
    # lexsort: last key is primary -> by key, then by id.
    order = np.stack([np.lexsort((ids, row)) for row in keys]) if len(xq) else np.zeros((0, len(xb)), int)
    return scores, order, ids


def check_against_brute(D, I, xb, xq, metric, k, ids=None, dtype_tol=1e-4):
    scores, order, ids = brute_force(xb, xq, metric, ids)
    ref_ids = ids[order[:, :k]]
    ref_d = np.take_along_axis(scores, order[:, :k], 1)
    scale = max(1.0, float(np.abs(ref_d).max()))
    np.testing.assert_allclose(D, ref_d, atol=dtype_tol * scale, rtol=dtype_tol)
    # Ids must match wherever the reference's neighbours are separated by more than rounding.
    keys = scores if metric == "l2" else -scores
    sorted_keys = np.take_along_axis(keys, order, 1)
    gap_ok = np.ones_like(ref_ids, bool)
    tol = 10 * dtype_tol * scale
    for j in range(k):
        left = np.abs(sorted_keys[:, j] - sorted_keys[:, j - 1]) > tol if j > 0 else True
        right = np.abs(sorted_keys[:, j + 1] - sorted_keys[:, j]) > tol if j + 1 < keys.shape[1] else True
        gap_ok[:, j] = left & right
    assert (I[gap_ok] == ref_ids[gap_ok]).all()
    assert gap_ok.mean() > 0.5


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ---------------------------------------------------------------------------------------------
# exactness


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("nq", [1, 3, 300])
def test_search_matches_brute_force(rng, metric, nq):
    # nb = 2500 crosses the 1024-row tiles; nq = 300 crosses the 256-query GEMM blocks.
    xb = rng.standard_normal((2500, 24)).astype(np.float32)
    xq = rng.standard_normal((nq, 24)).astype(np.float32)
    index = am.knn.FlatIndex(24, metric)
    index.add(xb)
    D, I = index.search(xq, 10)
    assert D.shape == (nq, 10) and D.dtype == np.float32
    assert I.shape == (nq, 10) and I.dtype == np.int64
    check_against_brute(D, I, xb, xq, metric, 10)


@pytest.mark.parametrize("metric", METRICS)
def test_float16_index_matches_brute_force_of_rounded_vectors(rng, metric):
    xb = rng.standard_normal((700, 16)).astype(np.float32)
    xq = rng.standard_normal((20, 16)).astype(np.float32)
    index = am.knn.FlatIndex(16, metric, dtype="float16")
    index.add(xb)
    D, I = index.search(xq, 5)
    if metric == "cosine":  # normalised first, then stored in float16
        stored = (xb / np.linalg.norm(xb, axis=1, keepdims=True)).astype(np.float16)
        check_against_brute(D, I, stored, xq / np.linalg.norm(xq, axis=1, keepdims=True), "ip", 5, dtype_tol=1e-3)
    else:
        check_against_brute(D, I, xb.astype(np.float16), xq, metric, 5, dtype_tol=1e-3)
    np.testing.assert_array_equal(index.reconstruct(3), stored[3] if metric == "cosine" else xb[3].astype(np.float16))


@pytest.mark.parametrize("metric", ["l2", "ip"])
@pytest.mark.parametrize("k", [1, 2, 7, 40, 999, 1000])
def test_k_from_one_to_ntotal_with_ties_by_smaller_id(rng, metric, k):
    # Values in {-1, 0, 1}: many exactly equal distances, all computed exactly in float32.
    xb = rng.integers(-1, 2, size=(1000, 6)).astype(np.float32)
    xq = rng.integers(-1, 2, size=(5, 6)).astype(np.float32)
    index = am.knn.FlatIndex(6, metric)
    index.add(xb)
    D, I = index.search(xq, k)
    scores, order, _ = brute_force(xb, xq, metric)
    np.testing.assert_array_equal(I, order[:, :k])
    np.testing.assert_array_equal(D, np.take_along_axis(scores, order[:, :k], 1).astype(np.float32))


def test_same_results_on_one_and_two_threads(rng):
    xb = rng.standard_normal((5000, 32)).astype(np.float32)
    xq = rng.standard_normal((70, 32)).astype(np.float32)
    index = am.knn.FlatIndex(32)
    index.add(xb)
    before = am.get_num_threads()
    try:
        am.set_num_threads(1)
        D1, I1 = index.search(xq, 20)
        am.set_num_threads(2)
        D2, I2 = index.search(xq, 20)
    finally:
        am.set_num_threads(before)
    np.testing.assert_array_equal(I1, I2)
    np.testing.assert_allclose(D1, D2, rtol=1e-5, atol=1e-4)


def test_agrees_with_faiss(rng):
    faiss = pytest.importorskip("faiss")
    xb = rng.standard_normal((3000, 32)).astype(np.float32)
    xq = rng.standard_normal((50, 32)).astype(np.float32)
    for metric, cls in [("l2", faiss.IndexFlatL2), ("ip", faiss.IndexFlatIP)]:
        ours = am.knn.FlatIndex(32, metric)
        ours.add(xb)
        theirs = cls(32)
        theirs.add(xb)
        D, I = ours.search(xq, 10)
        Df, If = theirs.search(xq, 10)
        assert (I == If).mean() > 0.999
        np.testing.assert_allclose(D, Df, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------------------------
# ids, removal, filters


def test_custom_ids_and_batched_adds_equal_one_add(rng):
    xb = rng.standard_normal((900, 8)).astype(np.float32)
    ids = rng.permutation(10**12)[:900].astype(np.int64) if False else (np.arange(900, dtype=np.int64) * 7 + 2**40)
    one = am.knn.FlatIndex(8)
    one.add(xb, ids=ids)
    many = am.knn.FlatIndex(8)
    for start in range(0, 900, 37):  # many small adds: the buffers grow by doubling
        many.add(xb[start:start + 37], ids=ids[start:start + 37])
    assert one.ntotal == many.ntotal == 900
    xq = rng.standard_normal((4, 8)).astype(np.float32)
    D1, I1 = one.search(xq, 5)
    D2, I2 = many.search(xq, 5)
    np.testing.assert_array_equal(I1, I2)
    np.testing.assert_array_equal(D1, D2)
    check_against_brute(D1, I1, xb, xq, "l2", 5, ids=ids)
    np.testing.assert_array_equal(one.reconstruct(int(ids[17])), xb[17])


def test_default_ids_continue_from_ntotal(rng):
    index = am.knn.FlatIndex(4)
    index.add(np.eye(4, dtype=np.float32))
    index.add(np.eye(4, dtype=np.float32) * 2)
    _, I = index.search(np.eye(4, dtype=np.float32) * 2, 1)
    np.testing.assert_array_equal(I[:, 0], [4, 5, 6, 7])


def test_duplicate_ids_are_rejected_and_index_unchanged(rng):
    index = am.knn.FlatIndex(3)
    index.add(np.ones((2, 3), np.float32), ids=[10, 11])
    with pytest.raises(ValueError, match="id 11 is already in the index"):
        index.add(np.zeros((2, 3), np.float32), ids=[12, 11])
    with pytest.raises(ValueError, match="id 12 appears twice"):
        index.add(np.zeros((2, 3), np.float32), ids=[12, 12])
    assert index.ntotal == 2
    # default ids that would collide are rejected too
    index2 = am.knn.FlatIndex(3)
    index2.add(np.ones((1, 3), np.float32), ids=[1])
    with pytest.raises(ValueError, match="id 1 is already"):
        index2.add(np.ones((2, 3), np.float32))


def test_removed_ids_are_never_returned(rng):
    xb = rng.standard_normal((1500, 16)).astype(np.float32)
    xq = xb[:50] + 1e-3  # each query's nearest neighbour is its own row
    index = am.knn.FlatIndex(16)
    index.add(xb)
    gone = np.arange(0, 1500, 2)
    assert index.remove(np.concatenate([gone, [99999, 0]])) == len(gone)  # absent and repeated ids ignored
    assert index.ntotal == 750
    D, I = index.search(xq, 30)
    assert not np.isin(I, gone).any()
    keep = np.arange(1, 1500, 2)
    check_against_brute(D, I, xb[keep], xq, "l2", 30, ids=keep)
    with pytest.raises(ValueError, match="id 0 is not in the index"):
        index.reconstruct(0)
    assert index.remove([12345]) == 0
    # removed ids can be added again
    index.add(xb[:1], ids=[0])
    assert index.search(xq[:1], 1)[1][0, 0] == 0


@pytest.mark.parametrize("form", ["ids", "mask", "tensor_mask"])
def test_filter_is_honoured(rng, form):
    xb = rng.standard_normal((3000, 16)).astype(np.float32)
    xq = rng.standard_normal((40, 16)).astype(np.float32)
    ids = np.arange(3000, dtype=np.int64) + 500
    index = am.knn.FlatIndex(16, "ip")
    index.add(xb, ids=ids)
    allowed = ids[rng.random(3000) < 0.1]
    if form == "ids":
        flt = np.concatenate([allowed, [7, 10**9]])  # ids not in the index are ignored
    else:
        mask = np.zeros(4000, bool)
        mask[allowed] = True
        flt = mask if form == "mask" else am.tensor(mask)
    D, I = index.search(xq, 10, filter=flt)
    assert np.isin(I, allowed).all()
    rows = np.isin(ids, allowed)
    check_against_brute(D, I, xb[rows], xq, "ip", 10, ids=ids[rows])


def test_filter_with_fewer_allowed_than_k_pads_with_minus_one(rng):
    xb = rng.standard_normal((100, 4)).astype(np.float32)
    for metric, worst in [("l2", np.inf), ("ip", -np.inf), ("cosine", -np.inf)]:
        index = am.knn.FlatIndex(4, metric)
        index.add(xb)
        D, I = index.search(xb[:2], 5, filter=[3, 9])
        assert set(I[0, :2]) == {3, 9} and (I[:, 2:] == -1).all()
        assert (D[:, 2:] == worst).all()
        D, I = index.search(xb[:2], 3, filter=np.zeros(100, bool))
        assert (I == -1).all()


def test_bad_filters_raise(rng):
    index = am.knn.FlatIndex(4)
    index.add(rng.standard_normal((10, 4)).astype(np.float32))
    q = np.zeros((1, 4), np.float32)
    with pytest.raises(TypeError, match="filter"):
        index.search(q, 2, filter=np.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="1-D"):
        index.search(q, 2, filter=np.zeros((2, 2), bool))


# ---------------------------------------------------------------------------------------------
# range search


@pytest.mark.parametrize("metric,radius", [("l2", 20.0), ("ip", 3.0), ("cosine", 0.4)])
def test_range_search_matches_brute_force(rng, metric, radius):
    xb = rng.standard_normal((2000, 12)).astype(np.float32)
    xq = rng.standard_normal((7, 12)).astype(np.float32)
    index = am.knn.FlatIndex(12, metric)
    index.add(xb)
    lims, D, I = index.range_search(xq, radius)
    scores, _, _ = brute_force(xb, xq, metric)
    assert lims.shape == (8,) and lims[0] == 0 and lims[-1] == len(D) == len(I)
    for i in range(7):
        hit = scores[i] < radius if metric == "l2" else scores[i] > radius
        margin = np.abs(scores[i] - radius) > 1e-3
        got = set(I[lims[i]:lims[i + 1]].tolist())
        want = set(np.nonzero(hit)[0].tolist())
        assert {j for j in got ^ want if margin[j]} == set()
        d = D[lims[i]:lims[i + 1]]
        assert (np.diff(d) >= 0).all() if metric == "l2" else (np.diff(d) <= 0).all()
        np.testing.assert_allclose(d, scores[i][I[lims[i]:lims[i + 1]]], rtol=1e-4, atol=1e-3)
    lims, D, I = index.range_search(xq, radius, filter=np.arange(0, 2000, 3))
    assert (I % 3 == 0).all()


# ---------------------------------------------------------------------------------------------
# input checks and formats


def test_bad_input_raises_clear_errors(rng):
    index = am.knn.FlatIndex(8)
    with pytest.raises(ValueError, match="exceeds the 0 vectors"):
        index.search(np.zeros((1, 8), np.float32), 1)
    index.add(rng.standard_normal((5, 8)).astype(np.float32))
    with pytest.raises(ValueError, match="7 columns, the index has d = 8"):
        index.add(np.zeros((2, 7), np.float32))
    with pytest.raises(ValueError, match="NaN or infinity"):
        index.add(np.full((1, 8), np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN or infinity"):
        index.search(np.full((1, 8), np.inf, np.float32), 1)
    with pytest.raises(TypeError, match="floating point"):
        index.add(np.zeros((1, 8), np.int32))
    # huge but finite values (their sum overflows) are accepted
    big = am.knn.FlatIndex(2, "ip")
    big.add(np.full((4, 2), 3e38, np.float32))
    assert big.ntotal == 4
    with pytest.raises(ValueError, match="2-D"):
        index.add(np.zeros((2, 2, 8), np.float32))
    with pytest.raises(ValueError, match="k = 6 exceeds the 5 vectors"):
        index.search(np.zeros((1, 8), np.float32), 6)
    with pytest.raises(ValueError, match="k must be at least 1"):
        index.search(np.zeros((1, 8), np.float32), 0)
    with pytest.raises(ValueError, match="ids must be"):
        index.add(np.zeros((2, 8), np.float32), ids=[1, 2, 3])
    with pytest.raises(ValueError, match="id -1 is out of range"):
        index.add(np.zeros((2, 8), np.float32), ids=[5, -1])
    with pytest.raises(ValueError, match="out of range"):
        index.add(np.zeros((1, 8), np.float32), ids=[2**63 - 1])
    with pytest.raises(ValueError, match="unknown metric 'manhattan'"):
        am.knn.FlatIndex(8, "manhattan")
    with pytest.raises(ValueError, match="d must be at least 1"):
        am.knn.FlatIndex(0)
    with pytest.raises(TypeError, match="float32 or float16"):
        am.knn.FlatIndex(8, dtype="int8")
    assert index.ntotal == 5


def test_empty_query_batch_and_one_dimensional_query(rng):
    xb = rng.standard_normal((10, 4)).astype(np.float32)
    index = am.knn.FlatIndex(4)
    index.add(xb)
    D, I = index.search(np.zeros((0, 4), np.float32), 3)
    assert D.shape == (0, 3) and I.shape == (0, 3)
    D, I = index.search(xb[2], 1)  # one vector: one query
    assert I.shape == (1, 1) and I[0, 0] == 2 and D[0, 0] == 0
    index.add(np.zeros((0, 4), np.float32))
    assert index.ntotal == 10


def test_tensor_queries_give_tensors_float64_accepted(rng):
    xb = rng.standard_normal((50, 4))
    index = am.knn.FlatIndex(4)
    index.add(xb)  # float64 is converted
    D, I = index.search(am.tensor(xb[:3].astype(np.float32)), 1)
    assert isinstance(D, am.Tensor) and isinstance(I, am.Tensor)
    np.testing.assert_array_equal(I.numpy()[:, 0], [0, 1, 2])


def test_reset_and_repr(rng):
    index = am.knn.FlatIndex(4, "cosine")
    index.add(rng.standard_normal((10, 4)).astype(np.float32))
    assert len(index) == 10 and "ntotal=10" in repr(index) and "cosine" in repr(index)
    index.reset()
    assert index.ntotal == 0
    index.add(np.ones((1, 4), np.float32))
    np.testing.assert_allclose(index.reconstruct(0), np.full(4, 0.5), rtol=1e-6)


def test_cuda_without_gpu_is_a_clear_error():
    if am.cuda.is_available():
        pytest.skip("a GPU is present")
    index = am.knn.FlatIndex(4)
    with pytest.raises(RuntimeError, match="(?i)cuda"):
        index.to("cuda")
    assert index.device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# save / load


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_save_load_round_trip(tmp_path, rng, metric, dtype):
    xb = rng.standard_normal((300, 8)).astype(np.float32)
    xq = rng.standard_normal((5, 8)).astype(np.float32)
    index = am.knn.FlatIndex(8, metric, dtype=dtype)
    index.add(xb, ids=np.arange(300) * 3)
    index.remove([0, 3])
    path = tmp_path / "index.knn"
    index.save(path)
    loaded = am.knn.load(path)
    assert isinstance(loaded, am.knn.FlatIndex)
    assert (loaded.d, loaded.metric, loaded.ntotal) == (8, metric, 298)
    D1, I1 = index.search(xq, 7)
    D2, I2 = loaded.search(xq, 7)
    np.testing.assert_array_equal(I1, I2)
    np.testing.assert_array_equal(D1, D2)
    # the file is plain safetensors
    from safetensors.numpy import load_file
    tensors = load_file(str(path))
    assert tensors["vectors"].shape == (298, 8) and tensors["ids"].dtype == np.int64


def test_corrupt_truncated_and_missing_files_raise(tmp_path, rng):
    index = am.knn.FlatIndex(8)
    index.add(rng.standard_normal((100, 8)).astype(np.float32))
    path = tmp_path / "index.knn"
    index.save(path)
    data = path.read_bytes()
    (tmp_path / "trunc.knn").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="trunc.knn"):
        am.knn.load(tmp_path / "trunc.knn")
    (tmp_path / "junk.knn").write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="junk.knn"):
        am.knn.load(tmp_path / "junk.knn")
    with pytest.raises(FileNotFoundError, match="nope.knn"):
        am.knn.load(tmp_path / "nope.knn")
    # a model file is not an index file
    from safetensors.numpy import save_file
    save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "model.safetensors"), metadata={"format": "aimass.model"})
    with pytest.raises(ValueError, match="not an aimass.knn index"):
        am.knn.load(tmp_path / "model.safetensors")
    # tampered contents: duplicate ids, wrong width
    tensors = {"vectors": np.zeros((2, 8), np.float32), "ids": np.array([1, 1], np.int64)}
    meta = {"format": "aimass.knn", "version": "1", "type": "FlatIndex", "d": "8", "metric": "l2",
            "dtype": "float32", "settings": "{}"}
    save_file(tensors, str(tmp_path / "dup.knn"), metadata=meta)
    with pytest.raises(ValueError, match="dup.knn.*id 1"):
        am.knn.load(tmp_path / "dup.knn")
    save_file({"vectors": np.zeros((2, 5), np.float32), "ids": np.array([1, 2], np.int64)}, str(tmp_path / "w.knn"),
              metadata=meta)
    with pytest.raises(ValueError, match="w.knn.*expected \\(n, 8\\)"):
        am.knn.load(tmp_path / "w.knn")
    save_file({"vectors": np.zeros((2, 8), np.float32), "ids": np.array([-5, 2], np.int64)}, str(tmp_path / "neg.knn"),
              metadata=meta)
    with pytest.raises(ValueError, match="neg.knn.*id -5 is out of range"):
        am.knn.load(tmp_path / "neg.knn")
    save_file(tensors, str(tmp_path / "v2.knn"), metadata={**meta, "version": "2"})
    with pytest.raises(ValueError, match="version '2' is not supported"):
        am.knn.load(tmp_path / "v2.knn")


def test_failed_save_leaves_old_file_whole(tmp_path, rng, monkeypatch):
    index = am.knn.FlatIndex(4)
    index.add(rng.standard_normal((10, 4)).astype(np.float32))
    path = tmp_path / "index.knn"
    index.save(path)
    before = path.read_bytes()
    import safetensors.numpy

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(safetensors.numpy, "save_file", broken)
    index.add(rng.standard_normal((5, 4)).astype(np.float32))
    with pytest.raises(OSError, match="disk full"):
        index.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["index.knn"]
