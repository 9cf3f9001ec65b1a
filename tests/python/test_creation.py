"""Creation: am.tensor / asarray, zeros / ones / full / empty, arange, linspace, the *_like forms."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, assert_tensor, dtype_id, np_dtype, random_array  # noqa: F401

SHAPES = [(), (0,), (1,), (5,), (0, 3), (3, 0), (2, 3), (2, 1, 4), (3, 4, 5, 2)]


# --- am.tensor --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1, am.int64),
        (2.5, am.float32),
        (True, am.bool_),
        ([1, 2, 3], am.int64),
        ([1.0, 2.0], am.float32),
        ([[1, 2], [3, 4]], am.int64),
        ([[1.5], [2.5], [3.5]], am.float32),
        ([True, False], am.bool_),
        ([], am.float32),
        ([[], []], am.float32),
    ],
)
def test_tensor_from_python(data, dtype):
    t = am.tensor(data)
    expected = np.asarray(data)
    assert_tensor(t, expected.astype(np_dtype(dtype)), dtype=dtype)
    assert t.device.type == "cpu"
    assert t.ndim == expected.ndim and t.size == expected.size and len(t.strides) == t.ndim


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tensor_from_numpy_keeps_dtype_and_copies(rng, dt, shape):
    a = random_array(rng, shape, dt)
    t = am.tensor(a)
    assert_tensor(t, a, dtype=dt)
    assert t.is_contiguous()
    if a.size:
        before = a.copy()
        a.reshape(-1)[0] = a.reshape(-1)[-1] if a.size > 1 else np.zeros((), a.dtype)
        a.reshape(-1)[0] = ~a.reshape(-1)[0] if dt == am.bool_ else a.reshape(-1)[0] + 1
        assert_tensor(t, before)  # am.tensor copies


@pytest.mark.parametrize("spec", [am.float64, "float64", np.float64, np.dtype("float64"), "double"])
def test_tensor_dtype_argument_forms(spec):
    t = am.tensor([1, 2, 3], dtype=spec)
    assert_tensor(t, np.array([1, 2, 3], np.float64), dtype=am.float64)


@pytest.mark.parametrize("src", INT_DTYPES + FLOAT_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("dst", ALL_DTYPES, ids=dtype_id)
def test_tensor_with_dtype_casts(rng, src, dst):
    a = random_array(rng, (4, 5), src, low=0, high=20)
    t = am.tensor(a, dtype=dst)
    expected = a.astype(np.float64).astype(np_dtype(dst)) if src in FLOAT_DTYPES else a.astype(np_dtype(dst))
    assert_tensor(t, expected, dtype=dst)


def test_tensor_from_tensor_copies():
    a = am.tensor([1.0, 2.0, 3.0])
    b = am.tensor(a)
    assert b.data_ptr() != a.data_ptr()
    b[0] = 10.0
    assert a.tolist() == [1.0, 2.0, 3.0]


def test_tensor_from_noncontiguous_numpy(rng):
    a = rng.standard_normal((6, 8)).astype(np.float32)
    for view in (a.T, a[::2, 1::3], a[::-1], a[:, ::-2]):
        assert_tensor(am.tensor(view), view, dtype=am.float32)
        assert_tensor(am.asarray(view), view, dtype=am.float32)


def test_requires_grad():
    t = am.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad
    assert not am.tensor([1.0]).requires_grad
    with pytest.raises(TypeError):
        am.tensor([1, 2], requires_grad=True)


def test_asarray_shares_numpy_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = am.asarray(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    assert_tensor(am.asarray(a, dtype=am.int32), a.astype(np.int32), dtype=am.int32)


def test_scalar_tensor_0d():
    t = am.tensor(3.5)
    assert t.shape == () and t.ndim == 0 and t.size == 1
    assert t.item() == 3.5
    assert float(t) == 3.5 and int(am.tensor(7)) == 7 and bool(am.tensor(True))
    assert isinstance(am.tensor(7).item(), int)
    assert isinstance(am.tensor(True).item(), bool)
    assert isinstance(am.tensor(1.5).item(), float)


# --- zeros / ones / full / empty ---------------------------------------------------------------


@pytest.mark.parametrize("fn, value", [(am.zeros, 0), (am.ones, 1)])
@pytest.mark.parametrize("shape", SHAPES + [3, [2, 2]], ids=str)
@pytest.mark.parametrize("dt", [None] + ALL_DTYPES, ids=str)
def test_zeros_ones(fn, value, shape, dt):
    t = fn(shape) if dt is None else fn(shape, dtype=dt)
    want_dt = am.float32 if dt is None else dt
    np_shape = (shape,) if isinstance(shape, int) else tuple(shape)
    assert_tensor(t, np.full(np_shape, value, np_dtype(want_dt)), dtype=want_dt)
    assert t.is_contiguous()


@pytest.mark.parametrize(
    "value, dt, want",
    [(2.5, None, am.float32), (7, None, am.int64), (True, None, am.bool_), (-3, am.int8, am.int8),
     (1.25, am.float16, am.float16), (3.3, am.bfloat16, am.bfloat16), (2.7, am.int32, am.int32),
     (0.0, am.bool_, am.bool_), (255, am.uint8, am.uint8), (1e300, am.float64, am.float64)],
)
@pytest.mark.parametrize("shape", [(), (0, 2), (3, 4)], ids=str)
def test_full(value, dt, want, shape):
    t = am.full(shape, value) if dt is None else am.full(shape, value, dtype=dt)
    expected = np.full(shape, np.array(value).astype(np.float64 if isinstance(value, float) else np.array(value).dtype))
    assert_tensor(t, expected.astype(np_dtype(want)), dtype=want)


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=dtype_id)
def test_empty(dt):
    t = am.empty((3, 0, 2), dtype=dt)
    assert t.shape == (3, 0, 2) and t.dtype == dt and t.size == 0
    t = am.empty((4, 5), dtype=dt)
    assert t.shape == (4, 5) and t.nbytes == 20 * t.itemsize == 20 * dt.itemsize


# --- arange / linspace ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [(5,), (0,), (-3,), (2, 10), (2, 10, 3), (10, 2, -3), (10, 2), (-5, 5, 2), (0, 1, 0.1), (1.5, 4.0),
     (0.0, -2.0, -0.25), (3, 3), (1, 2, 0.3)],
    ids=str,
)
def test_arange(args):
    t = am.arange(*args)
    expected = np.arange(*args)
    want = am.float32 if expected.dtype.kind == "f" else am.int64
    assert_tensor(t, expected.astype(np_dtype(want)), dtype=want)


@pytest.mark.parametrize("dt", [am.int32, am.float64, am.float16, am.uint8, am.int8], ids=dtype_id)
def test_arange_dtype(dt):
    assert_tensor(am.arange(0, 20, 2, dtype=dt), np.arange(0, 20, 2).astype(np_dtype(dt)), dtype=dt)


@pytest.mark.parametrize("start, stop, num, endpoint", [(0, 1, 5, True), (0, 1, 5, False), (-2, 3, 1, True),
                                                        (1, 1, 4, True), (3, -3, 7, True), (0, 10, 0, True),
                                                        (0, 1, 1, False), (0.5, 100.0, 1000, True)])
@pytest.mark.parametrize("dt", [None, am.float64, am.float16, am.int32], ids=str)
def test_linspace(start, stop, num, endpoint, dt):
    kw = {} if dt is None else {"dtype": dt}
    t = am.linspace(start, stop, num, endpoint=endpoint, **kw)
    want = am.float32 if dt is None else dt
    expected = np.linspace(start, stop, num, endpoint=endpoint)
    if want in INT_DTYPES:
        expected = np.trunc(expected)
    assert_tensor(t, expected.astype(np_dtype(want)), dtype=want)


# --- *_like ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dt", [am.float32, am.int32, am.bfloat16, am.bool_], ids=dtype_id)
def test_like(dt):
    base = am.zeros((2, 0, 3), dtype=dt) if dt == am.bool_ else am.ones((3, 4), dtype=dt).T
    for fn, value in [(am.zeros_like, 0), (am.ones_like, 1)]:
        t = fn(base)
        assert_tensor(t, np.full(base.shape, value, np_dtype(dt)), dtype=dt)
    assert_tensor(am.full_like(base, 1), np.ones(base.shape, np_dtype(dt)), dtype=dt)
    e = am.empty_like(base)
    assert e.shape == base.shape and e.dtype == dt and e.device == base.device
    f = am.zeros_like(base, dtype=am.float64)
    assert f.dtype == am.float64 and f.shape == base.shape
    r = am.rand_like(am.zeros((4, 3)))
    assert r.shape == (4, 3) and r.dtype == am.float32
    r = am.randn_like(am.zeros((4, 3), dtype=am.float64))
    assert r.shape == (4, 3) and r.dtype == am.float64
    r = am.randint_like(am.zeros((50,), dtype=am.int32), 0, 5)
    assert r.dtype == am.int32 and r.shape == (50,)
    v = r.numpy()
    assert v.min() >= 0 and v.max() < 5


# --- in-place fills and copies ------------------------------------------------------------------


def test_fill_and_copy(rng):
    t = am.zeros((3, 4))
    t.T.fill_(2.5)  # through a view
    assert_tensor(t, np.full((3, 4), 2.5, np.float32))
    a = rng.standard_normal((4, 3)).astype(np.float64)
    t.copy_(am.tensor(a).T)  # casts and follows the source's strides
    assert_tensor(t, a.T.astype(np.float32))
    t[:, ::2].copy_(am.tensor([1.0, 2.0]))  # broadcast source into a strided view
    expected = a.T.astype(np.float32)
    expected[:, ::2] = [1.0, 2.0]
    assert_tensor(t, expected)
    t.copy_(7)
    assert_tensor(t, np.full((3, 4), 7, np.float32))
    i = am.zeros(3, dtype=am.int8)
    i.fill_(2.9)
    assert_tensor(i, np.array([2, 2, 2], np.int8), dtype=am.int8)
    with pytest.raises(ValueError):
        t.copy_(am.ones(5))


def test_tensor_device_argument(device):
    t = am.tensor([1.0, 2.0], device=device)
    assert t.device.type == device
    assert am.zeros(2, device=device).device.type == device
    assert am.arange(3, device=device).cpu().tolist() == [0, 1, 2]
    assert am.linspace(0, 1, 3, device=device).cpu().tolist() == [0.0, 0.5, 1.0]
    assert am.full((2,), 3, device=device).cpu().tolist() == [3, 3]
    assert am.zeros_like(t).device == t.device
