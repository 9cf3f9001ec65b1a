"""Inputs that once killed or hung the interpreter, kept as a table of probes run in a child
process: each must end in the exception it names (or succeed, for `None`), never in a crash or
a hang. One child runs the whole table; when a probe kills it, that probe is marked and a fresh
child carries on with the next one, so one regression fails one test, not the session.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

# (name, code, the exception the code must raise: a builtin's name, or None for "succeeds").
# The code runs with `am` (aimass) and `np` (NumPy) imported and `tmp` an empty directory.
PROBES: list[tuple[str, str, str | None]] = [
    # Byte counts that overflow: ValueError when the size cannot exist, MemoryError when it is
    # valid but too large for this machine.
    ("zeros_2p61_f64", "am.zeros((2**61 - 1,), dtype=am.float64)", "ValueError"),
    ("empty_2p61_f64", "am.empty((2**61 - 1,), dtype=am.float64)", "ValueError"),
    ("full_2p61_f64", "am.full((2**61 - 1,), 1.0, dtype=am.float64)", "ValueError"),
    ("ones_2p61_f64", "am.ones((2**61 - 1,), dtype=am.float64)", "ValueError"),
    ("randn_2p61_f64", "am.randn(2**61 - 1, dtype=am.float64)", "ValueError"),
    ("rand_2p61", "am.rand(2**61 - 1)", "MemoryError"),
    ("linspace_2p61", "am.linspace(0, 1, 2**61 - 1, dtype=am.float64)", "ValueError"),
    ("zeros_2p62_bytes", "am.zeros((2**59,), dtype=am.float64)", "MemoryError"),
    ("zeros_2p63_elements", "am.zeros((2**62, 2, 2))", "ValueError"),
    ("zeros_wraps_size_t", "am.zeros((2**32, 2**32))", "ValueError"),
    ("zeros_like_huge_view", "am.zeros_like(am.zeros((1,), dtype=am.float64).broadcast_to((2**61 - 1,)))",
     "ValueError"),
    ("arange_huge", "am.arange(0, 2**62, dtype=am.int64)", "ValueError"),
    ("arange_too_large", "am.arange(0, 2**50, dtype=am.int64)", "MemoryError"),
    ("randint_huge", "am.randint(0, 10, (2**31, 2**31))", "ValueError"),
    ("randint_too_large", "am.randint(0, 10, (2**29, 2**30))", "MemoryError"),
    ("broadcast_contiguous", "am.zeros((1,), dtype=am.float64).broadcast_to((2**61 - 1,)).contiguous()",
     "ValueError"),
    ("broadcast_add", "am.zeros((1,), dtype=am.float64).broadcast_to((2**61 - 1,)) + 1", "ValueError"),
    ("broadcast_mul_tensor", "x = am.zeros((1,)).broadcast_to((2**62,)); x * x", "ValueError"),
    ("broadcast_numpy", "am.zeros((1,), dtype=am.float64).broadcast_to((2**61 - 1,)).numpy()", "ValueError"),
    ("broadcast_negative", "am.zeros((1,)).broadcast_to((-5,))", "ValueError"),
    # Element counts that wrap.
    ("reshape_wraps", "am.zeros(4).reshape(2**62 + 1, 4)", "ValueError"),
    ("reshape_wraps_infer", "am.zeros(4).reshape(2**62, 4, -1)", "ValueError"),
    ("reshape_huge_then_index", "t = am.zeros(4)\ntry:\n    t = t.reshape(2**62 + 1, 4)\nexcept ValueError:\n"
     "    pass\nt[2**40]", "IndexError"),
    ("index_huge", "am.zeros(4)[2**40]", "IndexError"),
    ("index_huge_negative", "am.zeros(4)[-2**62]", "IndexError"),
    ("index_beyond_int64", "am.zeros(4)[2**70]", "IndexError"),
    ("zeros_beyond_int64", "am.zeros((2**70,))", "ValueError"),
    ("slice_beyond_int64", "assert am.arange(5)[-2**70:2**70:2**65].numpy().tolist() == [0]", None),
    ("as_strided_view_check", "t = am.zeros(4)[1:]; assert t[2].item() == 0.0", None),
    ("slice_huge_step", "t = am.arange(10)[::2**62]; assert t.numpy().tolist() == [0]", None),
    ("slice_huge_bounds", "t = am.arange(10)[-2**62:2**62]; assert t.shape == (10,)", None),
    ("unsqueeze_huge_axis", "am.zeros(4).unsqueeze(2**62)", "IndexError"),
    ("sum_huge_axis", "am.zeros(4).sum(axis=2**62)", "IndexError"),
    ("permute_bad", "am.zeros((2, 3)).permute(0, 2**62)", "IndexError"),
    ("stack_empty", "am.stack([])", "ValueError"),
    ("concatenate_empty", "am.concatenate([])", "ValueError"),
    ("tensor_ragged", "am.tensor([[1, 2], [3]])", "ValueError"),
    ("tensor_deep", "x = 1\nfor _ in range(100000):\n    x = [x]\nam.tensor(x)", "ValueError"),
    # DLPack: a read-only producer is copied, so an in-place op writes the copy.
    ("dlpack_readonly_memmap", textwrap.dedent("""\
        path = os.path.join(tmp, "m.bin")
        np.arange(8, dtype=np.float32).tofile(path)
        m = np.memmap(path, dtype=np.float32, mode="r", shape=(8,))
        t = am.from_dlpack(m)
        t += 1
        assert t.numpy().tolist() == [float(i + 1) for i in range(8)]
        assert np.fromfile(path, dtype=np.float32).tolist() == [float(i) for i in range(8)]
        """), None),
    ("dlpack_readonly_numpy", textwrap.dedent("""\
        a = np.arange(4.0)
        a.flags.writeable = False
        t = am.from_dlpack(a)
        t *= 2
        assert a.tolist() == [0.0, 1.0, 2.0, 3.0] and t.numpy().tolist() == [0.0, 2.0, 4.0, 6.0]
        """), None),
    ("from_numpy_readonly", textwrap.dedent("""\
        a = np.arange(4.0)
        a.flags.writeable = False
        t = am.from_numpy(a)
        t += 1
        assert a.tolist() == [0.0, 1.0, 2.0, 3.0]
        """), None),
    ("from_dlpack_not_capsule", "am.from_dlpack(3)", "TypeError"),
    # Threads: a sane maximum.
    ("threads_10000", "am.set_num_threads(10000)", "ValueError"),
    ("threads_int_max", "am.set_num_threads(2**31 - 1)", "ValueError"),
    ("threads_max_allowed_runs", textwrap.dedent("""\
        am.set_num_threads(256)
        assert float(am.ones(100000).sum()) == 100000.0
        am.set_num_threads(0)
        """), None),
    # Loaders refuse what is not a regular file, instead of blocking on it.
    ("load_fifo", "p = os.path.join(tmp, 'f.aimass'); os.mkfifo(p); am.load(p)", "ValueError"),
    ("knn_load_fifo", "p = os.path.join(tmp, 'f.index'); os.mkfifo(p); am.knn.load(p)", "ValueError"),
    ("load_directory", "am.load(tmp)", "ValueError"),
    ("load_missing", "am.load(os.path.join(tmp, 'missing.aimass'))", "FileNotFoundError"),
    ("load_dev_zero", "am.load('/dev/zero')", "ValueError"),
    ("dataloader_num_classes_huge", textwrap.dedent("""\
        X, Y = np.zeros((16, 4), np.float32), np.zeros(16, np.int64)
        am.data.DataLoader((X, Y), batch_size=8, label_smoothing=0.1, num_classes=2**61)
        """), "ValueError"),
    # Layers and ops with sizes that cannot exist.
    ("dense_huge", "am.nn.Dense(2**62)(am.zeros((1, 4)))", "ValueError"),
    ("dense_huge_in", "am.nn.Dense(4, input_dim=2**40)", "MemoryError"),
    ("embedding_huge", "am.nn.Embedding(2**62, 2**62)", "ValueError"),
    ("embedding_index_out_of_range", "am.nn.Embedding(10, 4)(am.tensor([[2**40]]))", "IndexError"),
    ("conv_huge_kernel", "am.nn.Conv2D(4, 2**31)(am.zeros((1, 1, 8, 8)))", "ValueError"),
    ("pool_huge", "am.nn.MaxPool2D(2**40)(am.zeros((1, 1, 8, 8)))", "ValueError"),
    ("flat_index_huge_d", "am.knn.FlatIndex(2**62).add(np.zeros((1, 4), np.float32))", "ValueError"),
    ("flat_index_search_huge_k", textwrap.dedent("""\
        ix = am.knn.FlatIndex(4)
        ix.add(np.zeros((3, 4), np.float32))
        ix.search(np.zeros((1, 4), np.float32), k=2**62)
        """), "ValueError"),
]


def _child_script(probes: list[tuple[str, str, str | None]], tmp: str) -> str:
    """A program that runs `probes` in order, printing one JSON line per finished probe."""
    return textwrap.dedent(f"""\
        import builtins, faulthandler, json, os, sys, tempfile
        import numpy as np
        import aimass as am
        probes = json.loads({json.dumps(json.dumps(probes))})
        for name, code, expected in probes:
            print(json.dumps({{"start": name}}), flush=True)
            faulthandler.dump_traceback_later(60, exit=True)  # a hang ends the child
            tmp = tempfile.mkdtemp(dir={tmp!r})
            try:
                exec(code, {{"am": am, "np": np, "os": os, "tmp": tmp}})
                outcome = None
            except BaseException as e:  # noqa: BLE001 - every outcome is reported
                outcome = type(e).__name__ + ": " + str(e)[:300]
                if expected is not None and isinstance(e, getattr(builtins, expected)):
                    outcome = expected
            faulthandler.cancel_dump_traceback_later()
            print(json.dumps({{"done": name, "outcome": outcome}}), flush=True)
        """)


def _run_table(tmp: str) -> dict[str, str | None]:
    """Outcome per probe: the expected exception's name, None for success, or what went wrong."""
    outcomes: dict[str, str | None] = {}
    pending = list(PROBES)
    env = dict(os.environ)
    while pending:
        proc = subprocess.run([sys.executable, "-c", _child_script(pending, tmp)], capture_output=True, text=True,
                              env=env, timeout=600)
        started = None
        for line in proc.stdout.splitlines():
            msg = json.loads(line)
            if "start" in msg:
                started = msg["start"]
            else:
                outcomes[msg["done"]] = msg["outcome"]
                started = None
        done = {name for name, _, _ in pending if name in outcomes}
        if started is None and len(done) == len(pending):
            break
        # The child died in `started` (or before the first probe): mark it, go on after it.
        crashed = started if started is not None else pending[0][0]
        outcomes[crashed] = f"child process died (exit code {proc.returncode}): {proc.stderr[-500:]}"
        names = [name for name, _, _ in pending]
        pending = pending[names.index(crashed) + 1:]
        pending = [p for p in pending if p[0] not in outcomes]
    return outcomes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str | None]:
    return _run_table(str(tmp_path_factory.mktemp("probes")))


@pytest.mark.parametrize("name, code, expected", PROBES, ids=[p[0] for p in PROBES])
def test_probe(outcomes, name, code, expected):
    assert name in outcomes, f"{name} never ran"
    assert outcomes[name] == expected, f"{name}: expected {expected or 'success'}, got {outcomes[name]}"


def test_probe_names_unique():
    names = [p[0] for p in PROBES]
    assert len(names) == len(set(names))
