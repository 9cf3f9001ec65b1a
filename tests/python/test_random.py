"""Random numbers: manual_seed reproducibility, counter-based streams, moments of uniform /
normal, randint bounds, the same numbers on CPU and CUDA for the same seed."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import FLOAT_DTYPES, INT_DTYPES, dtype_id, to_np


@pytest.fixture(autouse=True)
def _reseed():
    am.manual_seed(1234)
    yield


DRAWS = {
    "rand": lambda shape, **kw: am.rand(shape, **kw),
    "randn": lambda shape, **kw: am.randn(shape, **kw),
    "uniform": lambda shape, **kw: am.uniform(-2.0, 5.0, shape, **kw),
    "normal": lambda shape, **kw: am.normal(3.0, 0.5, shape, **kw),
    "randint": lambda shape, **kw: am.randint(-7, 9, shape, **kw),
}


@pytest.mark.parametrize("name", list(DRAWS))
def test_manual_seed_reproducible(name):
    draw = DRAWS[name]
    am.manual_seed(42)
    a = to_np(draw((50, 3)))
    b = to_np(draw((50, 3)))
    am.manual_seed(42)
    a2 = to_np(draw((50, 3)))
    b2 = to_np(draw((50, 3)))
    np.testing.assert_array_equal(a, a2)
    np.testing.assert_array_equal(b, b2)
    assert not np.array_equal(a, b), "consecutive draws must differ"
    am.manual_seed(43)
    assert not np.array_equal(to_np(draw((50, 3))), a), "different seeds must differ"


def test_stream_is_counter_based():
    """Element i comes from counter offset + i: one draw of 100 equals draws of 37 and 63."""
    am.manual_seed(7)
    whole = to_np(am.rand(100))
    am.manual_seed(7)
    parts = np.concatenate([to_np(am.rand(37)), to_np(am.rand(63))])
    np.testing.assert_array_equal(whole, parts)
    am.manual_seed(7)
    assert np.array_equal(to_np(am.rand((10, 10))).reshape(-1), whole)


@pytest.mark.parametrize("dt", FLOAT_DTYPES, ids=dtype_id)
def test_uniform_moments_and_bounds(dt):
    n = 200_000
    x = to_np(am.rand((n,), dtype=dt)).astype(np.float64)
    assert x.min() >= 0.0 and x.max() <= 1.0
    if dt in (am.float32, am.float64):
        assert x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.005
    assert abs(x.var() - 1 / 12) < 0.003
    y = to_np(am.uniform(-2.0, 5.0, (n,), dtype=dt)).astype(np.float64)
    assert y.min() >= -2.0 and y.max() <= 5.0
    assert abs(y.mean() - 1.5) < 0.05
    hist, _ = np.histogram(x, bins=10, range=(0, 1))
    assert hist.min() > n / 10 * 0.95 and hist.max() < n / 10 * 1.05


@pytest.mark.parametrize("dt", FLOAT_DTYPES, ids=dtype_id)
def test_normal_moments(dt):
    n = 200_000
    x = to_np(am.randn((n,), dtype=dt)).astype(np.float64)
    assert np.isfinite(x).all()
    assert abs(x.mean()) < 0.01
    assert abs(x.std() - 1.0) < 0.01
    assert abs(np.mean(x**3)) < 0.05  # symmetric
    assert abs(np.mean(x**4) - 3.0) < 0.1  # Gaussian kurtosis
    assert abs(np.mean(np.abs(x) < 1.0) - 0.6827) < 0.01
    y = to_np(am.normal(3.0, 0.5, (n,), dtype=dt)).astype(np.float64)
    assert abs(y.mean() - 3.0) < 0.01 and abs(y.std() - 0.5) < 0.01


@pytest.mark.parametrize("dt", INT_DTYPES + [am.float32, am.float64], ids=dtype_id)
def test_randint_bounds(dt):
    lo, hi = (0, 10) if dt == am.uint8 else (-5, 6)
    x = to_np(am.randint(lo, hi, (20_000,), dtype=dt))
    assert am.randint(lo, hi, (3,), dtype=dt).dtype == dt
    assert x.min() == lo and x.max() == hi - 1
    assert set(np.unique(x).tolist()) == set(range(lo, hi))
    counts = np.bincount((x - lo).astype(np.int64))
    assert counts.min() > 20_000 / (hi - lo) * 0.85


def test_randint_forms():
    x = am.randint(5, shape=(1000,))
    assert x.dtype == am.int64 and to_np(x).min() >= 0 and to_np(x).max() < 5
    b = to_np(am.randint(0, 2, (1000,), dtype=am.bool_))
    assert b.dtype == np.bool_ and b.any() and not b.all()
    big = to_np(am.randint(-2**40, 2**40, (1000,)))
    assert big.min() >= -2**40 and big.max() < 2**40 and np.abs(big).max() > 2**35
    assert am.randint(3, 4, ()).item() == 3


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (1,), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("name", list(DRAWS))
def test_shapes(shape, name):
    t = DRAWS[name](shape)
    assert t.shape == shape
    assert t.dtype == (am.int64 if name == "randint" else am.float32)


def test_empty_draw_does_not_advance_stream():
    am.manual_seed(3)
    a = to_np(am.rand(5))
    am.manual_seed(3)
    am.rand((0, 4))
    np.testing.assert_array_equal(to_np(am.rand(5)), a)


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(DRAWS))
@pytest.mark.parametrize("dt", [None, am.float64, am.float16, am.bfloat16], ids=str)
def test_same_numbers_on_cpu_and_cuda(cuda_device, name, dt):
    kw = {} if dt is None else {"dtype": dt}
    if name == "randint" and dt is not None:
        kw = {"dtype": am.int32}
    am.manual_seed(99)
    cpu = to_np(DRAWS[name]((1000, 7), **kw))
    am.manual_seed(99)
    gpu = DRAWS[name]((1000, 7), device=cuda_device, **kw)
    assert gpu.device.type == "cuda"
    got = to_np(gpu)
    if name in ("randn", "normal"):
        # transcendental functions may differ in the last bits between libm and CUDA
        np.testing.assert_allclose(got.astype(np.float64), cpu.astype(np.float64), rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_array_equal(got, cpu)
