"""Indexes, models and data loaders used from several Python threads at once (issue 10, part 5).

Each scenario runs in a child process, so a regression shows up as a failed test (a crash's exit
status, or a hang's timeout) rather than killing pytest. Searches and predicts run in parallel;
a writer excludes readers (k-NN) or is refused with RuntimeError (a model in use); a DataLoader
iterated from two threads yields valid batches or says that the iteration was superseded.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import aimass as am


def _run_child(code: str, timeout: float = 60) -> str:
    """Runs code in a fresh interpreter; fails on a crash, a hang or a non-zero exit."""
    prelude = "import threading\nimport numpy as np\nimport aimass as am\n"
    try:
        proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the child process hung (no exit within {timeout} s)")
    assert proc.returncode == 0, f"child exited with {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_flat_index_searches_while_another_thread_resets_and_adds():
    out = _run_child("""
        rng = np.random.default_rng(0)
        base = rng.standard_normal((500, 16)).astype(np.float32)
        q = rng.standard_normal((8, 16)).astype(np.float32)
        index = am.knn.FlatIndex(16)
        index.add(base)
        want = index.search(q, 5)
        done = threading.Event()
        bad, errors, searches = [], [], [0]

        def reader():
            while not done.is_set():
                try:
                    d, ids = index.search(q, 5)
                except ValueError as e:  # k > ntotal right after a reset: a clear error
                    errors.append(str(e))
                    continue
                except Exception as e:  # anything else is a torn read
                    bad.append(repr(e))
                    continue
                searches[0] += 1
                if not (((ids >= -1) & (ids < 500)).all() and (np.diff(d, axis=1) >= 0).all()):
                    bad.append((d, ids))

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        for _ in range(200):
            index.reset()
            index.add(base[:100])
            index.add(base[100:])
        done.set()
        for t in threads:
            t.join()
        assert not bad, bad[:1]
        assert all("k" in e for e in errors), errors[:1]
        d, ids = index.search(q, 5)
        assert (ids == want[1]).all() and np.allclose(d, want[0])
        print("ok", searches[0])
    """)
    assert out.startswith("ok")


def test_ivf_index_searches_while_another_thread_adds():
    out = _run_child("""
        rng = np.random.default_rng(1)
        base = rng.standard_normal((800, 16)).astype(np.float32)
        q = rng.standard_normal((8, 16)).astype(np.float32)
        index = am.knn.IVFFlatIndex(16, nlist=8)
        index.train(base)
        index.add(base[:400])
        index.nprobe = 8
        done = threading.Event()
        bad = []

        def reader():
            while not done.is_set():
                try:
                    d, ids = index.search(q, 5)
                except Exception as e:
                    bad.append(repr(e))
                    continue
                if not (((ids >= -1) & (ids < 800)).all() and (np.diff(d, axis=1) >= 0).all()):
                    bad.append(ids)
                len(index), index.list_sizes, index.nprobe

        threads = [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        for i in range(40):
            index.add(base[400 + 10 * i: 410 + 10 * i], ids=np.arange(400 + 10 * i, 410 + 10 * i))
            index.nprobe = 1 + i % 8
        done.set()
        for t in threads:
            t.join()
        assert not bad, bad[:1]
        index.nprobe = 8
        serial = am.knn.IVFFlatIndex(16, nlist=8)
        serial.train(base)
        serial.add(base)
        serial.nprobe = 8
        assert (index.search(q, 5)[1] == serial.search(q, 5)[1]).all()
        print("ok")
    """)
    assert out.startswith("ok")


def test_concurrent_predicts_equal_serial_ones_and_build_once():
    out = _run_child("""
        am.manual_seed(0)
        nn = am.nn
        # Lazily built, in train mode, with Dropout and BatchNorm: predict must run in eval
        # mode in every thread without switching the others, and build the weights once.
        model = nn.Sequential([nn.Dense(32, activation="relu"), nn.BatchNorm1D(), nn.Dropout(0.5), nn.Dense(4)])
        x = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float32)
        results, errors = [None] * 8, []
        start = threading.Barrier(8)

        def run(i):
            try:
                start.wait()
                results[i] = [model.predict(x, batch_size=16) for _ in range(10)]
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(list(model.parameters())) == 6  # one weight and bias per Dense, gamma / beta
        assert model.training  # predict did not switch the shared flag
        serial = model.predict(x, batch_size=16)
        for r in results:
            for y in r:
                assert np.array_equal(y, serial)
        print("ok")
    """)
    assert out.startswith("ok")


def test_fit_in_one_thread_and_sequential_add_in_another():
    out = _run_child("""
        am.manual_seed(0)
        nn = am.nn
        model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(2)])
        model.compile(optimizer="adam", loss="cross_entropy")
        x = np.random.default_rng(3).standard_normal((512, 8)).astype(np.float32)
        y = (x[:, 0] > 0).astype(np.int64)
        model.build((None, 8))
        fitting, outcome = threading.Event(), {"refused": 0, "added": 0, "other": []}

        def fit():
            fitting.set()
            model.fit(x, y, epochs=20, batch_size=16, verbose=0)

        def mutate():
            fitting.wait()
            while threads[0].is_alive() and outcome["refused"] < 50:
                try:
                    if outcome["added"] < 20:  # a few succeed between epochs (or before the first)
                        model.add(nn.ReLU())
                        outcome["added"] += 1
                except RuntimeError as e:
                    assert "in use by another thread" in str(e), e
                    outcome["refused"] += 1
                except Exception as e:  # e.g. the fit noticed a change between calls: never a crash
                    outcome["other"].append(repr(e))
                try:
                    model.to("cpu"), model.zero_grad()
                except RuntimeError as e:
                    assert "in use by another thread" in str(e), e
                    outcome["refused"] += 1

        threads = [threading.Thread(target=fit), threading.Thread(target=mutate)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcome["refused"] > 0, outcome
        assert model.predict(x[:4]).shape == (4, 2)
        print("ok", outcome["refused"], outcome["added"])
    """, timeout=120)
    assert out.startswith("ok")


def test_dataloader_iterated_from_two_threads():
    out = _run_child("""
        x = np.arange(96 * 3, dtype=np.float32).reshape(96, 3)
        y = np.arange(96, dtype=np.int64)
        loader = am.data.DataLoader((x, y), batch_size=8, shuffle=True, prefetch=2)
        problems, superseded = [], [0]

        def run():
            for _ in range(30):
                seen = []
                try:
                    for xb, yb in loader:
                        xb, yb = xb.numpy(), yb.numpy()
                        if xb.shape != (8, 3) or not np.array_equal(xb[:, 0], yb * 3):
                            problems.append((xb, yb))
                        seen.extend(yb.tolist())
                except RuntimeError as e:
                    assert "superseded" in str(e), e
                    superseded[0] += 1
                    continue
                if sorted(seen) != list(range(96)):
                    problems.append(("epoch", sorted(seen)))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not problems, problems[:1]
        print("ok", superseded[0])
    """)
    assert out.startswith("ok")


def test_nested_loop_over_one_dataloader_says_it_was_superseded():
    loader = am.data.DataLoader((np.zeros((16, 2), np.float32), np.zeros(16, np.int64)), batch_size=4)
    outer = iter(loader)
    next(outer)
    assert len(list(loader)) == 4  # the inner loop is a whole epoch
    with pytest.raises(RuntimeError, match="superseded"):
        next(outer)


def test_dataloader_num_classes_too_large_for_soft_targets():
    x, y = np.zeros((16, 2), np.float32), np.zeros(16, np.int64)
    with pytest.raises(ValueError, match="num_classes"):
        am.data.DataLoader((x, y), batch_size=8, label_smoothing=0.1, num_classes=2**61)
    with pytest.raises(ValueError, match="num_classes"):
        am.data.DataLoader((x, y), batch_size=8, mixup_alpha=0.2, num_classes=2**40)
    small = am.data.DataLoader((x, y), batch_size=8, label_smoothing=0.1, num_classes=3)
    assert next(iter(small))[1].shape == (8, 3)
