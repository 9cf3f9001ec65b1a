"""Shared fixtures and helpers for the aimass pytest suite.

Every op is checked against NumPy. Inputs are made in NumPy (seeded), turned into tensors in
several layouts (contiguous, transposed, strided, offset, broadcast), and the result is
compared with NumPy's, computed in float64 where the dtype is a float.
"""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

try:
    import ml_dtypes

    NP_BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a test dependency
    ml_dtypes = None
    NP_BF16 = None

# ---------------------------------------------------------------------------------------------
# dtypes

FLOAT_DTYPES = [am.float32, am.float64, am.float16, am.bfloat16]
INT_DTYPES = [am.uint8, am.int8, am.int32, am.int64]
ALL_DTYPES = [am.bool_, *INT_DTYPES, *FLOAT_DTYPES]

NP_DTYPE = {
    am.bool_: np.dtype(np.bool_),
    am.uint8: np.dtype(np.uint8),
    am.int8: np.dtype(np.int8),
    am.int32: np.dtype(np.int32),
    am.int64: np.dtype(np.int64),
    am.float16: np.dtype(np.float16),
    am.float32: np.dtype(np.float32),
    am.float64: np.dtype(np.float64),
}
if NP_BF16 is not None:
    NP_DTYPE[am.bfloat16] = NP_BF16

# (rtol, atol) for elementwise results in each dtype.
TOL = {
    am.float64: (1e-12, 1e-12),
    am.float32: (2e-6, 1e-6),
    am.float16: (1e-3, 1e-3),
    am.bfloat16: (1e-2, 1e-2),
}
# Looser, for reductions, matmul and transcendental functions.
RED_TOL = {
    am.float64: (1e-10, 1e-10),
    am.float32: (2e-5, 2e-5),
    am.float16: (5e-3, 5e-3),
    am.bfloat16: (3e-2, 3e-2),
}


def is_float(dt) -> bool:
    return dt in FLOAT_DTYPES


def np_dtype(dt) -> np.dtype:
    if dt == am.bfloat16 and NP_BF16 is None:
        pytest.skip("ml_dtypes is not installed")
    return NP_DTYPE[dt]


def dtype_id(dt) -> str:
    return str(dt)


# ---------------------------------------------------------------------------------------------
# devices


def _cuda_param():
    return pytest.param("cuda", marks=pytest.mark.cuda, id="cuda")


DEVICE_PARAMS = [pytest.param("cpu", id="cpu"), _cuda_param()]


def require_device(name: str) -> str:
    if name.startswith("cuda") and not am.cuda.is_available():
        pytest.skip(am.cuda.unavailable_reason())
    return name


@pytest.fixture(params=DEVICE_PARAMS)
def device(request) -> str:
    """Every available device: "cpu" always, "cuda" (marked `cuda`) where there is a GPU."""
    return require_device(request.param)


@pytest.fixture
def cuda_device() -> str:
    """For tests marked `cuda`: skips cleanly, saying why, where CUDA is unavailable."""
    return require_device("cuda")


# ---------------------------------------------------------------------------------------------
# random data


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240607)


def random_array(rng: np.random.Generator, shape, dt, low=None, high=None) -> np.ndarray:
    """A NumPy array of aimass dtype `dt` with values that are exact in that dtype's range."""
    shape = tuple(shape)
    if dt == am.bool_:
        return rng.random(shape) < 0.5
    if dt in INT_DTYPES:
        info = np.iinfo(NP_DTYPE[dt])
        lo = max(info.min, -50 if low is None else low)
        hi = min(info.max, 50 if high is None else high)
        return rng.integers(lo, hi, size=shape, endpoint=True).astype(NP_DTYPE[dt])
    lo = -3.0 if low is None else low
    hi = 3.0 if high is None else high
    return rng.uniform(lo, hi, size=shape).astype(np_dtype(dt))


def to_np(t: am.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array (bfloat16 as ml_dtypes' bfloat16)."""
    assert isinstance(t, am.Tensor), type(t)
    if t.device.type != "cpu":
        t = t.cpu()
    return np.array(t.numpy(), copy=True)


def as_f64(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind in "fV" or a.dtype == NP_BF16:
        return a.astype(np.float64)
    return a


# ---------------------------------------------------------------------------------------------
# layouts: the same values as a contiguous, transposed, strided, offset or broadcast tensor

LAYOUTS = ["contiguous", "transposed", "strided", "offset", "from_numpy_strided"]


def make_tensor(a: np.ndarray, layout: str = "contiguous", device: str = "cpu") -> am.Tensor:
    """A tensor equal to `a`, laid out as `layout` (a non-contiguous view where it says so)."""
    a = np.asarray(a)
    if layout == "contiguous":
        t = am.tensor(a)
    elif layout == "transposed":
        if a.ndim < 2:
            return make_tensor(a, "strided", device)
        base = am.tensor(np.ascontiguousarray(a.T))
        t = base.T
        assert a.size <= 1 or 1 in a.shape or not t.is_contiguous()
    elif layout == "strided":
        if a.ndim == 0:
            return make_tensor(a, "offset", device)
        big = np.zeros(a.shape[:-1] + (a.shape[-1] * 2 + 1,), a.dtype)
        big[..., 1::2] = a
        t = am.tensor(big)[..., 1::2]
    elif layout == "offset":
        big = np.zeros((2,) + a.shape, a.dtype)
        big[1] = a
        t = am.tensor(big)[1]
    elif layout == "from_numpy_strided":
        if a.ndim == 0:
            return make_tensor(a, "offset", device)
        big = np.zeros((a.shape[0] * 3,) + a.shape[1:], a.dtype)
        big[::3] = a
        t = am.from_numpy(big[::3])
    else:
        raise AssertionError(layout)
    assert t.shape == a.shape
    if device != "cpu":
        t = t.to(device)
    return t


# ---------------------------------------------------------------------------------------------
# assertions


def assert_tensor(t, expected, dtype=None, rtol=None, atol=None, equal_nan=True):
    """`t` has `expected`'s shape and values (and `dtype`, when given)."""
    assert isinstance(t, am.Tensor), f"expected a Tensor, got {type(t)}"
    expected = np.asarray(expected)
    if dtype is not None:
        assert t.dtype == dtype, f"dtype {t.dtype}, expected {dtype}"
    assert t.shape == expected.shape, f"shape {t.shape}, expected {expected.shape}"
    got = to_np(t)
    if t.dtype in FLOAT_DTYPES:
        r, a = TOL[t.dtype]
        np.testing.assert_allclose(as_f64(got), as_f64(expected), rtol=r if rtol is None else rtol,
                                   atol=a if atol is None else atol, equal_nan=equal_nan)
    else:
        np.testing.assert_array_equal(got, expected)


def assert_message(excinfo, *parts):
    """The exception message names every one of `parts` (op names, shapes, dtypes, devices)."""
    msg = str(excinfo.value)
    missing = [p for p in parts if p not in msg]
    assert not missing, f"message {msg!r} does not name {missing}"


def shape_str(shape) -> str:
    """A shape as our messages (and NumPy's) print it: (2, 3), (4,), ()."""
    return str(tuple(shape))


def numeric_grad(f, x, eps=1e-6):
    """Central differences of the scalar f(x) with respect to every element of the float64 array x."""
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        g[idx] = (f(up) - f(down)) / (2 * eps)
    return g
