"""Runtime: aimass.info(), the `aimass info` command, threads (set_num_threads and
AIMASS_NUM_THREADS), and what aimass.cuda says where there is no GPU."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import aimass as am


def _run(code: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("AIMASS_NUM_THREADS", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, *code], capture_output=True, text=True, timeout=120, env=env)


def test_info():
    info = am.info()
    for key in ("version", "python", "platform", "cuda_built", "blas", "cpu_simd", "num_threads", "devices"):
        assert key in info, key
    assert info["version"] == am.__version__
    assert isinstance(info["cuda_built"], bool)
    assert info["blas"]
    assert any(level in str(info["cpu_simd"]).lower() for level in ("avx512", "avx2", "baseline", "scalar", "sse",
                                                                    "neon"))
    assert info["devices"][0] == "cpu"
    assert info["num_threads"] == am.get_num_threads()
    if am.cuda.is_available():
        assert any(d.startswith("cuda:0") for d in info["devices"])
        assert "cudnn" in info and "cuda_runtime" in info
    else:
        assert info["cuda"] == am.cuda.unavailable_reason() != ""


def test_cli_info():
    r = _run(["-m", "aimass.cli", "info"])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert am.__version__ in out
    for key in ("version", "blas", "cpu_simd", "devices", "num_threads"):
        assert key in out
    assert "cpu" in out


def test_cli_usage_errors():
    r = _run(["-m", "aimass.cli"])
    assert r.returncode != 0 and "usage" in (r.stderr + r.stdout).lower()
    r = _run(["-m", "aimass.cli", "no-such-command"])
    assert r.returncode != 0


def test_set_num_threads_and_results_do_not_change():
    default = am.get_num_threads()
    assert default >= 1
    rng = np.random.default_rng(0)
    a = rng.standard_normal((513, 1025)).astype(np.float32)
    b = rng.standard_normal((1025, 65)).astype(np.float32)
    t, tb = am.tensor(a), am.tensor(b)
    try:
        results = {}
        for n in (1, 2, 3):
            am.set_num_threads(n)
            assert am.get_num_threads() == n
            results[n] = [(t * 2 + 1).numpy().copy(), t.sum(axis=0).numpy().copy(), (t @ tb).numpy().copy(),
                          t.max(axis=1).numpy().copy(), am.exp(t).numpy().copy()]
        for n in (2, 3):
            for x, y in zip(results[1], results[n]):
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)
    finally:
        am.set_num_threads(0)
    assert am.get_num_threads() == default


def test_num_threads_env():
    r = _run(["-c", "import aimass; print(aimass.get_num_threads())"], {"AIMASS_NUM_THREADS": "3"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"
    r = _run(["-c", "import aimass; aimass.set_num_threads(2); aimass.set_num_threads(0); "
                    "print(aimass.get_num_threads())"], {"AIMASS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_import_does_not_load_cuda():
    code = ("import sys, aimass, aimass as am; am.ones(3) + 1; "
            "import os; maps = open('/proc/self/maps').read(); print('libaimass_cuda' in maps, 'libcudart' in maps)")
    r = _run(["-c", code])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False False"


def test_cuda_module_without_gpu():
    if am.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert am.cuda.is_available() is False
    assert am.cuda.device_count() == 0
    reason = am.cuda.unavailable_reason()
    assert isinstance(reason, str) and reason
    assert am.cuda.memory_allocated() == 0
    am.cuda.empty_cache()  # a no-op, not an error
    with pytest.raises(RuntimeError) as e:
        am.zeros((2, 2), device="cuda")
    assert "cuda" in str(e.value).lower()
    with pytest.raises(RuntimeError):
        am.cuda.synchronize()
    with pytest.raises(RuntimeError):
        am.cuda.device_name(0)


@pytest.mark.cuda
def test_cuda_module_with_gpu(cuda_device):
    assert am.cuda.device_count() >= 1
    assert am.cuda.unavailable_reason() == ""
    assert am.cuda.device_name(0)
    v = am.cuda.versions()
    assert v["runtime"] > 0 and v["driver"] > 0
    before = am.cuda.memory_allocated()
    t = am.zeros((1024, 1024), device=cuda_device)
    assert am.cuda.memory_allocated() >= before + 4 * 1024 * 1024
    assert t.device.type == "cuda" and t.is_cuda and t.device.index == 0
    del t
    am.cuda.synchronize()
    assert am.cuda.memory_allocated() == before
    am.cuda.empty_cache()


def test_devices():
    d = am.device("cpu")
    assert d.type == "cpu" and d.index is None and str(d) == "cpu"
    assert am.ones(2).device == "cpu"
    assert am.Device("cuda:1").index == 1 and am.Device("cuda").type == "cuda"
    assert hash(am.Device("cpu")) == hash(am.Device("cpu"))
    assert am.Device("cpu") != "cuda"
