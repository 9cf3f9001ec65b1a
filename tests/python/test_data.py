"""aimass.data: batching and shuffling (coverage, drop_last, seeds, prefetch), augmentation
against NumPy (flip, crop, mixup, label smoothing), the crop_flip / mixup ops, image_folder on
PNG trees written with Pillow, the split helpers, errors, and the prefetch thread's lifecycle."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import aimass as am
import aimass.data as D
from aimass._core import data as native


def to_np(t):
    return t.numpy() if isinstance(t, am.Tensor) else np.asarray(t)


def epoch(loader):
    return [(to_np(x).copy(), to_np(y).copy()) for x, y in loader]


def make_xy(n, feat=(3,), dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *feat)).astype(dtype)
    x[:, ...] += np.arange(n).reshape(n, *([1] * len(feat)))  # rows are told apart by their values
    return x, np.arange(n, dtype=np.int64)


# --------------------------------------------------------------------------- batching


@pytest.mark.parametrize("n,bs,shuffle,drop_last", [
    (10, 3, False, False), (10, 3, True, False), (10, 3, True, True), (12, 4, True, True),
    (5, 8, True, False), (5, 8, False, True), (1, 1, True, False),
])
@pytest.mark.parametrize("prefetch", [0, 2])
def test_every_sample_once(n, bs, shuffle, drop_last, prefetch):
    x, y = make_xy(n)
    loader = D.DataLoader((x, y), batch_size=bs, shuffle=shuffle, drop_last=drop_last, prefetch=prefetch)
    expected_n = (n // bs) * bs if drop_last else n
    assert loader.num_samples == expected_n
    assert len(loader) == -(-expected_n // bs)
    batches = epoch(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([b[1] for b in batches]) if batches else np.zeros(0, np.int64)
    assert len(seen) == expected_n and len(np.unique(seen)) == expected_n
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))
    if not shuffle:
        assert seen.tolist() == list(range(expected_n))
    for bx, by in batches:
        assert bx.dtype == np.float32 and by.dtype == np.int64
        assert len(bx) <= bs and (drop_last is False or len(bx) == bs)
        np.testing.assert_array_equal(bx, x[by])  # x rows travel with their y


def test_shuffle_is_seeded_and_changes_across_epochs():
    x, y = make_xy(50)
    loader = D.DataLoader((x, y), batch_size=7, shuffle=True)
    am.manual_seed(123)
    e1, e2 = epoch(loader), epoch(loader)
    am.manual_seed(123)
    f1 = epoch(loader)
    order = lambda e: np.concatenate([b[1] for b in e])  # noqa: E731
    np.testing.assert_array_equal(order(e1), order(f1))
    assert not np.array_equal(order(e1), order(e2))
    assert not np.array_equal(order(e1), np.arange(50))


@pytest.mark.parametrize("opts", [
    dict(), dict(random_flip=True, random_crop=2), dict(mixup_alpha=0.4, num_classes=50),
    dict(label_smoothing=0.1, num_classes=50, random_flip=True),
])
def test_prefetch_does_not_change_batches(opts):
    x, y = make_xy(50, feat=(2, 5, 6))
    results = []
    for prefetch in (0, 1, 3):
        am.manual_seed(7)
        loader = D.DataLoader((x, y), batch_size=8, shuffle=True, prefetch=prefetch, **opts)
        results.append(epoch(loader) + epoch(loader))
    for other in results[1:]:
        assert len(other) == len(results[0])
        for (a, b), (c, d) in zip(results[0], other):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_batches_are_fresh_tensors():
    x, y = make_xy(12)
    batches = [(bx, by) for bx, by in D.DataLoader((x, y), batch_size=4, prefetch=2)]
    for i, (bx, by) in enumerate(batches):  # earlier batches were not overwritten by later ones
        np.testing.assert_array_equal(to_np(by), np.arange(4 * i, 4 * i + 4))
        np.testing.assert_array_equal(to_np(bx), x[4 * i:4 * i + 4])


def test_inputs_tensors_noncontiguous_and_x_only():
    base = np.arange(40, dtype=np.float64).reshape(10, 4)
    x = am.tensor(base)[:, ::2]  # strided view
    y = am.tensor(np.arange(10) * 3)
    batches = epoch(D.DataLoader(D.ArrayDataset(x, y), batch_size=4))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), base[:, ::2])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), np.arange(10) * 3)
    only = [to_np(b) for b in D.DataLoader(base.T.copy().T, batch_size=3)]  # x alone, Fortran order
    np.testing.assert_array_equal(np.concatenate(only), base)
    # float16 and uint8 rows, and targets of any shape
    for dt in (np.float16, np.uint8):
        xs = (np.arange(60) % 250).astype(dt).reshape(5, 3, 4)
        ys = np.arange(10, dtype=np.float32).reshape(5, 2)
        got = epoch(D.DataLoader((xs, ys), batch_size=2))
        assert got[0][0].dtype == dt
        np.testing.assert_array_equal(np.concatenate([g[0] for g in got]), xs)
        np.testing.assert_array_equal(np.concatenate([g[1] for g in got]), ys)


def test_empty_dataset():
    loader = D.DataLoader((np.zeros((0, 3), np.float32), np.zeros(0, np.int64)), batch_size=4, shuffle=True)
    assert len(loader) == 0 and epoch(loader) == []
    loader = D.DataLoader((np.zeros((3, 3), np.float32), np.zeros(3, np.int64)), batch_size=4, drop_last=True)
    assert len(loader) == 0 and epoch(loader) == []


def test_array_dataset():
    x, y = make_xy(6)
    ds = D.ArrayDataset(x, y)
    assert len(ds) == 6
    xi, yi = ds[2]
    np.testing.assert_array_equal(to_np(xi), x[2])
    assert int(to_np(yi)) == 2
    assert to_np(D.ArrayDataset(x)[1:3]).shape == (2, 3)
    with pytest.raises(ValueError, match="different numbers of samples"):
        D.ArrayDataset(x, y[:5])


# --------------------------------------------------------------------------- augmentation


def windows(img, pad):
    """Every crop (and mirrored crop) of img (C, H, W) zero-padded by pad."""
    c, h, w = img.shape
    p = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
    for dy in range(2 * pad + 1):
        for dx in range(2 * pad + 1):
            win = p[:, dy:dy + h, dx:dx + w]
            yield (dy, dx, False), win
            yield (dy, dx, True), win[:, :, ::-1]


def test_random_flip_matches_numpy():
    x, y = make_xy(64, feat=(2, 4, 5))
    am.manual_seed(0)
    flips = 0
    for bx, by in epoch(D.DataLoader((x, y), batch_size=16, shuffle=True, random_flip=True)):
        for img, i in zip(bx, by):
            if np.array_equal(img, x[i]):
                continue
            np.testing.assert_array_equal(img, np.flip(x[i], axis=-1))
            flips += 1
    assert 16 <= flips <= 48  # p = 0.5 over 64 samples


def test_random_crop_matches_numpy():
    x, y = make_xy(40, feat=(3, 6, 7), dtype=np.float64)
    am.manual_seed(1)
    offsets = set()
    for bx, by in epoch(D.DataLoader((x, y), batch_size=8, random_crop=2, random_flip=True)):
        for img, i in zip(bx, by):
            match = [k for k, win in windows(x[i], 2) if np.array_equal(win, img)]
            assert match, f"sample {i} is no crop of its padded original"
            offsets.add(match[0][:2])
    assert len(offsets) > 5  # offsets vary


def test_crop_flip_op_exact():
    rng = np.random.default_rng(3)
    for dt in (np.float32, np.float64, np.float16, np.uint8, np.int64):
        x = (rng.random((4, 2, 5, 6)) * 100).astype(dt)
        pad = 2
        params = np.array([[0, 0, 0], [1, 4, 1], [1, 2, 2], [0, 3, 4]], np.int64)
        out = to_np(native.crop_flip(x, params, pad))
        assert out.dtype == dt
        for b, (f, dy, dx) in enumerate(params):
            win = np.pad(x[b], ((0, 0), (pad, pad), (pad, pad)))[:, dy:dy + 5, dx:dx + 6]
            np.testing.assert_array_equal(out[b], win[:, :, ::-1] if f else win)
    # a crop range wider than the image leaves all zeros
    out = to_np(native.crop_flip(np.ones((1, 1, 2, 2), np.float32), np.array([[1, 0, 8]]), 4))
    np.testing.assert_array_equal(out, np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="crop_flip"):
        native.crop_flip(np.ones((1, 1, 2, 2), np.float32), np.array([[0, 9, 0]]), 4)
    with pytest.raises(ValueError, match=r"crop_flip: x must be \(B, C, H, W\)"):
        native.crop_flip(np.ones((1, 2, 2), np.float32), np.array([[0, 0, 0]]), 1)
    with pytest.raises(ValueError, match="crop_flip: params"):
        native.crop_flip(np.ones((2, 1, 2, 2), np.float32), np.array([[0, 0, 0]]), 1)


def test_mixup_op_exact():
    rng = np.random.default_rng(4)
    for dt in (np.float32, np.float64, np.float16):
        x = rng.standard_normal((5, 3, 2)).astype(dt)
        partner = np.array([1, 0, 4, 3, 2])
        lam = rng.random(5)
        out = to_np(native.mixup(x, partner, lam))
        assert out.dtype == dt
        ref = lam[:, None, None] * x.astype(np.float64) + (1 - lam[:, None, None]) * x[partner].astype(np.float64)
        tol = 1e-12 if dt == np.float64 else (1e-6 if dt == np.float32 else 1e-2)
        np.testing.assert_allclose(out.astype(np.float64), ref, rtol=tol, atol=tol)
    with pytest.raises(TypeError, match="mixup: x must be floating"):
        native.mixup(np.ones((2, 2), np.int32), np.array([1, 0]), np.array([0.5, 0.5]))
    with pytest.raises(IndexError, match="mixup: partner"):
        native.mixup(np.ones((2, 2), np.float32), np.array([1, 2]), np.array([0.5, 0.5]))


@pytest.mark.parametrize("alpha", [0.2, 1.0, 3.0])
def test_mixup_loader_convex_combinations(alpha):
    # x = [random features | one-hot sample id]: the id part of a mixed row names the two samples
    # and their weights, so the feature part and the targets can be checked against them.
    n, c, k = 40, 5, 6
    rng = np.random.default_rng(5)
    feats = rng.standard_normal((n, k))
    x = np.concatenate([feats, np.eye(n)], axis=1)
    y = rng.integers(0, c, n)
    am.manual_seed(11)
    lams = []
    for bx, by in epoch(D.DataLoader((x, y), batch_size=10, shuffle=True, mixup_alpha=alpha, num_classes=c)):
        assert by.shape == (len(bx), c) and by.dtype == np.float64
        np.testing.assert_allclose(by.sum(axis=1), 1.0, atol=1e-12)
        assert (by >= -1e-15).all()
        for row, t in zip(bx, by):
            w = row[k:]
            assert np.all(w >= -1e-15) and abs(w.sum() - 1) < 1e-12 and np.count_nonzero(w > 1e-15) <= 2
            np.testing.assert_allclose(row[:k], w @ feats, atol=1e-12)  # the same combination of two samples
            np.testing.assert_allclose(t, w @ np.eye(c)[y], atol=1e-12)
            if np.count_nonzero(w > 1e-15) == 2:
                lams.append(w.max())
    assert len(lams) > 20 and np.std(lams) > 0.01


def test_label_smoothing_values():
    n, c, eps = 20, 4, 0.2
    x, _ = make_xy(n)
    y = np.arange(n) % c
    for dt, want in ((np.float32, np.float32), (np.float64, np.float64), (np.float16, np.float32)):
        for bx, by in epoch(D.DataLoader((x.astype(dt), y), batch_size=6, shuffle=True, label_smoothing=eps,
                                         num_classes=c)):
            assert by.dtype == want and by.shape == (len(bx), c)
            hot = by.argmax(axis=1)
            np.testing.assert_allclose(by[np.arange(len(by)), hot], 1 - eps + eps / c, rtol=1e-6)
            off = by.copy()
            off[np.arange(len(by)), hot] = eps / c
            np.testing.assert_allclose(off, eps / c, rtol=1e-6)
    # the hot class is the sample's class (no shuffle: rows in order)
    (bx, by), = epoch(D.DataLoader((x, y), batch_size=n, label_smoothing=eps, num_classes=c))
    np.testing.assert_array_equal(by.argmax(axis=1), y)
    # soft targets given as probabilities are smoothed too
    probs = np.eye(c)[y] * 0.5 + 0.5 / c
    (bx, by), = epoch(D.DataLoader((x, probs), batch_size=n, label_smoothing=eps))
    np.testing.assert_allclose(by, (1 - eps) * probs + eps / c, rtol=1e-6)


def test_num_classes_from_dataset_classes():
    x, _ = make_xy(6)
    ds = D.ArrayDataset(x, np.array([0, 1, 2, 0, 1, 2]), classes=["a", "b", "c"])
    (bx, by), = epoch(D.DataLoader(ds, batch_size=6, label_smoothing=0.3))
    assert by.shape == (6, 3)


def test_loader_errors():
    x, y = make_xy(10)
    with pytest.raises(ValueError, match="DataLoader: .*different numbers of samples"):
        native.make_array_loader(x, y[:9])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        D.DataLoader((x, y), batch_size=0)
    with pytest.raises(ValueError, match="prefetch must be >= 0"):
        D.DataLoader((x, y), prefetch=-1)
    with pytest.raises(ValueError, match=r"random_flip and random_crop need images x \(N, C, H, W\), got float32 \(10, 3\)"):
        D.DataLoader((x, y), random_flip=True)
    with pytest.raises(ValueError, match="random_crop must be >= 0"):
        D.DataLoader((x.reshape(10, 1, 1, 3), y), random_crop=-1)
    with pytest.raises(ValueError, match="need num_classes"):
        D.DataLoader((x, y), label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"y\[3\] = 3 is not a class id in \[0, 3\)"):
        D.DataLoader((x, y), label_smoothing=0.1, num_classes=3)
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        D.DataLoader((x, y), label_smoothing=1.5, num_classes=10)
    with pytest.raises(ValueError, match="mixup_alpha must be >= 0"):
        D.DataLoader((x, y), mixup_alpha=-1.0, num_classes=10)
    with pytest.raises(TypeError, match="mixup needs floating x, got uint8"):
        D.DataLoader((x.astype(np.uint8), y), mixup_alpha=1.0, num_classes=10)
    with pytest.raises(TypeError, match="integer class ids"):
        D.DataLoader((x, np.ones((10, 2), np.int64)), mixup_alpha=1.0, num_classes=10)
    with pytest.raises(ValueError, match="num_classes = 4 but y"):
        D.DataLoader((x, np.ones((10, 3), np.float32)), mixup_alpha=1.0, num_classes=4)
    with pytest.raises(ValueError, match="need targets y"):
        D.DataLoader(x, mixup_alpha=1.0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        D.DataLoader((x, y), batch_size=2.5)


# --------------------------------------------------------------------------- prefetch thread lifecycle


def run_with_timeout(fn, seconds=20):
    done = threading.Event()
    err = []

    def target():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - re-raised below
            err.append(e)
        done.set()

    threading.Thread(target=target, daemon=True).start()
    assert done.wait(seconds), "timed out (hang)"
    if err:
        raise err[0]


def test_destroy_and_restart_mid_epoch_do_not_hang():
    x, y = make_xy(1000, feat=(8,))

    def body():
        for prefetch in (1, 2, 8):
            loader = D.DataLoader((x, y), batch_size=10, shuffle=True, prefetch=prefetch)
            it = iter(loader)
            next(it)
            next(it)
            del it, loader  # the queue is full and the worker waits for space: it must stop
            gc.collect()
            loader = D.DataLoader((x, y), batch_size=10, shuffle=True, prefetch=prefetch)
            for _ in range(3):
                src = loader._source
                src.start_epoch()
                src.next()
                src.start_epoch()  # restart mid-epoch
            am.manual_seed(5)
            full = epoch(loader)
            am.manual_seed(5)
            it = iter(loader)
            next(it)
            again = epoch(loader)  # a new iteration abandons the old one and restarts cleanly
            assert len(full) == len(again) == 100
            assert sorted(np.concatenate([g[1] for g in again]).tolist()) == list(range(1000))

    run_with_timeout(body)


def test_source_next_after_epoch_and_without_start():
    x, y = make_xy(5)
    src = native.make_array_loader(x, y, batch_size=2, shuffle=False, prefetch=2)
    got = []
    while (b := src.next()) is not None:  # starts an epoch itself
        got.append(to_np(b[1]).tolist())
    assert got == [[0, 1], [2, 3], [4]]
    assert src.next() is None and src.next() is None
    assert src.num_batches == 3 and src.num_samples == 5


# --------------------------------------------------------------------------- image_folder


def write_tree(root, spec, size=(6, 5), mode="RGB", seed=0):
    """spec: {class: count}; returns {path: uint8 array} of what was written."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written = {}
    for cls, count in spec.items():
        (root / cls).mkdir(parents=True)
        for i in range(count):
            shape = (size[0], size[1], 3) if mode == "RGB" else size
            a = rng.integers(0, 256, shape, dtype=np.uint8)
            p = root / cls / f"img{i}.png"
            Image.fromarray(a, mode).save(p)
            written[str(p)] = a
    return written


def test_image_folder_rgb(tmp_path):
    pytest.importorskip("PIL")
    written = write_tree(tmp_path, {"dog": 3, "cat": 2, "bird": 1})
    (tmp_path / "cat" / "notes.txt").write_text("not an image")  # ignored
    ds = D.image_folder(tmp_path)
    assert ds.classes == ["bird", "cat", "dog"]
    x, y = to_np(ds.x), to_np(ds.y)
    assert x.shape == (6, 3, 6, 5) and x.dtype == np.float32 and y.dtype == np.int64
    assert y.tolist() == [0, 1, 1, 2, 2, 2]
    paths = sorted(written, key=lambda p: (p.split("/")[-2], p))
    for i, p in enumerate(paths):
        np.testing.assert_allclose(x[i], written[p].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    xn = to_np(D.image_folder(tmp_path, normalize=(mean, std)).x)
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(xn, ref, rtol=1e-5, atol=1e-5)
    # the dataset feeds a DataLoader with augmentation and label smoothing from its classes
    batches = epoch(D.DataLoader(ds, batch_size=4, random_flip=True, label_smoothing=0.1))
    assert batches[0][1].shape == (4, 3)


def test_image_folder_resize_and_grayscale(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    written = write_tree(tmp_path, {"a": 2, "b": 2}, size=(8, 8), mode="L")
    Image.fromarray(np.zeros((5, 9), np.uint8), "L").save(tmp_path / "b" / "odd.png")
    with pytest.raises(ValueError, match="pass image_size"):
        D.image_folder(tmp_path, grayscale=True)
    ds = D.image_folder(tmp_path, image_size=(4, 6), grayscale=True, normalize=(0.5, 0.5))
    x = to_np(ds.x)
    assert x.shape == (5, 1, 4, 6)
    p = str(tmp_path / "a" / "img0.png")
    ref = np.asarray(Image.fromarray(written[p], "L").resize((6, 4), Image.BILINEAR), np.float32) / 255.0
    np.testing.assert_allclose(x[0, 0], (ref - 0.5) / 0.5, rtol=1e-5, atol=1e-5)
    assert D.image_folder(tmp_path, image_size=3).x.shape == (5, 3, 3, 3)


def test_image_folder_errors(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        D.image_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        D.image_folder(tmp_path / "empty")
    (tmp_path / "empty" / "cls").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        D.image_folder(tmp_path / "empty")
    write_tree(tmp_path / "t", {"x": 2})
    (tmp_path / "t" / "x" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="broken.png"):
        D.image_folder(tmp_path / "t")
    with pytest.raises(ValueError, match="mean and std need 1 or 3 values"):
        native.images_to_tensor(np.zeros((1, 2, 2, 3), np.uint8), [0.1, 0.2], [1.0, 1.0])
    with pytest.raises(ValueError, match="std must be positive"):
        native.images_to_tensor(np.zeros((1, 2, 2, 3), np.uint8), [0.1], [0.0])
    with pytest.raises(TypeError, match="images_to_tensor: images must be uint8"):
        native.images_to_tensor(np.zeros((1, 2, 2, 3), np.float32), [], [])


# --------------------------------------------------------------------------- splits


def test_train_test_split_sizes_and_pairs():
    x = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    xtr, xte, ytr, yte = D.train_test_split(x, y, seed=0)
    assert (len(xtr), len(xte)) == (37, 13)  # scikit-learn: test = ceil(0.25 * 50)
    np.testing.assert_array_equal(xtr[:, 0] // 2, ytr)
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(50))
    assert [len(a) for a in D.train_test_split(x, test_size=0.33, seed=1)] == [33, 17]
    assert [len(a) for a in D.train_test_split(x, test_size=10, seed=1)] == [40, 10]
    assert [len(a) for a in D.train_test_split(x, train_size=0.5, seed=1)] == [25, 25]
    assert [len(a) for a in D.train_test_split(x, train_size=20, test_size=5, seed=1)] == [20, 5]
    a, b = D.train_test_split(x, shuffle=False, test_size=0.2)
    np.testing.assert_array_equal(a, x[:40])
    np.testing.assert_array_equal(b, x[40:])
    # tensors in, tensors out
    ta, tb = D.train_test_split(am.tensor(x), seed=0)
    assert isinstance(ta, am.Tensor)
    np.testing.assert_array_equal(to_np(ta), xtr)
    np.testing.assert_array_equal(to_np(tb), xte)


def test_split_determinism():
    x = np.arange(200)
    a = D.train_test_split(x, seed=3)
    b = D.train_test_split(x, seed=3)
    c = D.train_test_split(x, seed=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    am.manual_seed(9)
    d = D.train_test_split(x)
    e = D.train_test_split(x)
    am.manual_seed(9)
    f = D.train_test_split(x)
    np.testing.assert_array_equal(d[1], f[1])
    assert not np.array_equal(d[1], e[1])


def test_stratified_split():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    x = np.arange(100)
    xtr, xte, ytr, yte = D.train_test_split(x, y, test_size=0.2, stratify=y, seed=0)
    assert len(yte) == 20
    assert np.bincount(yte).tolist() == [12, 6, 2]
    assert np.bincount(ytr).tolist() == [48, 24, 8]
    np.testing.assert_array_equal(y[xtr], ytr)
    parts = D.train_val_test_split(x, y, val_size=0.1, test_size=0.2, stratify=y, seed=0)
    assert [len(p) for p in parts[:3]] == [70, 10, 20]
    assert np.bincount(parts[4], minlength=3).tolist() == [6, 3, 1]
    assert np.bincount(parts[5], minlength=3).tolist() == [12, 6, 2]
    assert sorted(np.concatenate(parts[:3]).tolist()) == list(range(100))
    with pytest.raises(ValueError, match="least populated class"):
        D.train_test_split(x[:3], stratify=np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="need shuffle=True"):
        D.train_test_split(x, stratify=y, shuffle=False)


def test_split_errors():
    x = np.arange(10)
    with pytest.raises(ValueError, match="different numbers of samples"):
        D.train_test_split(x, np.arange(9))
    with pytest.raises(ValueError, match="test_size = 1.5 must be in"):
        D.train_test_split(x, test_size=1.5)
    with pytest.raises(ValueError, match="test_size = 10 must be in"):
        D.train_test_split(x, test_size=10)
    with pytest.raises(ValueError, match="exceed"):
        D.train_test_split(x, test_size=6, train_size=6)
    with pytest.raises(ValueError, match="leave no training samples"):
        D.train_val_test_split(x, val_size=0.5, test_size=0.5)
    with pytest.raises(TypeError, match="test_size must be an int or a float"):
        D.train_test_split(x, test_size="a")
