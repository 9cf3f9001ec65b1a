"""The CPU instruction-set switch (csrc/core/cpu_isa.h) from Python: am.set_cpu_isa changes the
level, every kernel's dispatch point then takes that level's variant (the dispatch-counting hook
of _core says which ran), and the results at every level match NumPy. Levels above
_core.cpu_isa_limit() are skipped here; tests/run.sh runs the op, layer, k-NN and training
suites again under AIMASS_CPU_ISA=avx2 and =baseline."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F
from aimass import _core

from conftest import to_np

LEVELS = ["baseline", "avx2", "avx512"]
SITES = ["simd_table", "sgemm", "knn_dot", "knn_scan", "max_pool_2x2", "optim_step", "grad_scale", "kmeans_pp"]


def _rank(level: str) -> int:
    return LEVELS.index(level)


@pytest.fixture(params=LEVELS)
def level(request):
    """Each level this process may use, with dispatch counting on; afterwards, the level before."""
    if _rank(request.param) > _rank(_core.cpu_isa_limit()):
        pytest.skip(f"{request.param} is above this process's limit {_core.cpu_isa_limit()}")
    before = am.get_cpu_isa()
    am.set_cpu_isa(request.param)
    _core.set_isa_dispatch_counting(True)
    yield request.param
    _core.set_isa_dispatch_counting(False)
    am.set_cpu_isa(before)


def _took(site: str, level: str):
    counts = {lv: _core.isa_dispatch_count(site, lv) for lv in LEVELS}
    assert counts[level] > 0, f"{site} never ran: {counts}"
    assert all(n == 0 for lv, n in counts.items() if lv != level), f"{site} ran at another level: {counts}"


def test_the_level_is_reported_and_set(level):
    assert am.get_cpu_isa() == level
    assert am.info()["cpu_simd"] == level


def test_elementwise_and_reductions_use_the_levels_table(level, rng):
    x = rng.uniform(-3, 3, (7, 129)).astype(np.float32)
    t = am.tensor(x)
    np.testing.assert_allclose(to_np(t.exp() * t + 1), np.exp(x) * x + 1, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(float(to_np(t.sum())), x.astype(np.float64).sum(), rtol=1e-5)
    _took("simd_table", level)


def test_linear_uses_our_gemm_only_at_avx512(level, rng):
    x, w = rng.standard_normal((64, 100)).astype(np.float32), rng.standard_normal((30, 100)).astype(np.float32)
    np.testing.assert_allclose(to_np(F.linear(am.tensor(x), am.tensor(w))), x @ w.T, rtol=1e-4, atol=1e-4)
    # Asked at every level; below AVX-512 it declines and the BLAS runs.
    _took("sgemm", level)


def test_flat_knn_scan(level, rng):
    base, queries = rng.standard_normal((500, 16)).astype(np.float32), rng.standard_normal((3, 16)).astype(np.float32)
    index = am.knn.FlatIndex(16, "l2")
    index.add(base)
    dist, ids = index.search(queries, 5)
    d2 = ((queries[:, None, :].astype(np.float64) - base[None]) ** 2).sum(-1)
    want = np.argsort(d2, axis=1)[:, :5]
    np.testing.assert_array_equal(ids, want)
    np.testing.assert_allclose(dist, np.take_along_axis(d2, want, 1), rtol=1e-4, atol=1e-4)
    _took("knn_dot", level)
    _took("knn_scan", level)


def test_max_pool_2x2(level, rng):
    x = rng.standard_normal((2, 3, 8, 40)).astype(np.float32)
    want = x.reshape(2, 3, 4, 2, 20, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(to_np(F.max_pool2d(am.tensor(x), 2)), want)
    _took("max_pool_2x2", level)


def test_adam_step_and_clip_grad_norm(level, rng):
    p0, g0 = rng.standard_normal(1001).astype(np.float32), rng.standard_normal(1001).astype(np.float32)
    p = am.tensor(p0, requires_grad=True)
    p.grad = am.tensor(g0)
    norm = am.optim.clip_grad_norm_([p], 1.0)
    np.testing.assert_allclose(norm, np.linalg.norm(g0.astype(np.float64)), rtol=1e-5)
    g = g0.astype(np.float64) / np.linalg.norm(g0.astype(np.float64))
    np.testing.assert_allclose(to_np(p.grad), g, rtol=1e-5, atol=1e-7)
    am.optim.Adam([p], lr=0.01).step()
    # Adam's first step: p -= lr * g / (|g| + eps).
    np.testing.assert_allclose(to_np(p), p0 - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-5, atol=1e-6)
    _took("grad_scale", level)
    _took("optim_step", level)


def test_kmeans_finds_the_blobs(level, rng):
    centres = 10 * np.eye(4, 12, dtype=np.float32)
    x = (np.repeat(centres, 50, axis=0) + 0.01 * rng.standard_normal((200, 12))).astype(np.float32)
    r = am.knn.kmeans(x, 4, niter=5)
    order = np.argsort(r.centroids.argmax(axis=1))
    np.testing.assert_allclose(r.centroids[order], centres, atol=0.05)
    _took("kmeans_pp", level)


def test_unknown_level_is_a_value_error():
    with pytest.raises(ValueError, match="expected baseline, avx2 or avx512"):
        am.set_cpu_isa("avx3")


def _run(code: str, isa: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "AIMASS_CPU_ISA": isa})


def test_environment_caps_the_level_and_asking_above_it_is_a_clear_error():
    code = ("import aimass as am\n"
            "print(am.get_cpu_isa(), am._core.cpu_isa_limit())\n"
            "try:\n    am.set_cpu_isa('avx512')\nexcept ValueError as e:\n    print(e)\n"
            "print(am.get_cpu_isa())\n")
    r = _run(code, "baseline")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "baseline baseline"
    assert "AIMASS_CPU_ISA=baseline caps this process at baseline" in lines[1]
    assert lines[2] == "baseline"  # a refused request leaves the level as it was


def test_a_level_the_cpu_lacks_is_a_clear_error():
    limit = _core.cpu_isa_limit()
    if limit == "avx512" or os.environ.get("AIMASS_CPU_ISA"):
        pytest.skip("this CPU has every level and nothing caps it")  # the capped case is tested above
    with pytest.raises(ValueError, match=f"this CPU has only {limit}"):
        am.set_cpu_isa("avx512")


def test_a_bad_environment_value_fails_the_import():
    r = _run("import aimass", "avx3")
    assert r.returncode != 0
    assert "AIMASS_CPU_ISA='avx3' is not a level" in r.stderr
