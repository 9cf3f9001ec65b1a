"""Reductions against NumPy: sum / mean / max / min / prod / argmax / argmin / var / any / all,
over every axis combination, with keepdims, on non-contiguous, empty and 0-d inputs."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import (FLOAT_DTYPES, INT_DTYPES, LAYOUTS, RED_TOL, as_f64, assert_tensor, dtype_id, make_tensor,
                      random_array)

AXES_3D = [None, 0, 1, 2, -1, (0, 2), (0, 1), (1, 2), (0, 1, 2), (), (-1, 0)]


def _np_reduce(name, a, axis, keepdims, ddof=0):
    """NumPy's reference, in float64 for floats (and exact int64 for integer sums)."""
    x = as_f64(a)
    with np.errstate(all="ignore"):
        if name == "sum":
            return np.sum(x if a.dtype.kind == "f" or x.dtype != a.dtype else a.astype(np.int64), axis=axis,
                          keepdims=keepdims)
        if name == "prod":
            return np.prod(x if x.dtype.kind == "f" else a.astype(np.int64), axis=axis, keepdims=keepdims)
        if name == "mean":
            return np.mean(x.astype(np.float64), axis=axis, keepdims=keepdims)
        if name == "var":
            return np.var(x.astype(np.float64), axis=axis, keepdims=keepdims, ddof=ddof)
        return getattr(np, name)(x, axis=axis, keepdims=keepdims)


def _result_dtype(name, dt):
    if name in ("sum", "prod"):
        return dt if dt in FLOAT_DTYPES else am.int64
    if name in ("mean", "var"):
        return dt if dt in FLOAT_DTYPES else am.float32
    if name in ("argmax", "argmin"):
        return am.int64
    if name in ("any", "all"):
        return am.bool_
    return dt


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "any", "all"])
@pytest.mark.parametrize("axis", AXES_3D, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce_axes(rng, name, axis, keepdims):
    a = random_array(rng, (3, 4, 5), am.float32, low=0.5, high=1.5)
    if name in ("any", "all"):
        a[a < 0.8] = 0
    t = make_tensor(a)
    expected = _np_reduce(name, a, axis, keepdims)
    out = getattr(am, name)(t, axis=axis, keepdims=keepdims)
    want = _result_dtype(name, am.float32)
    rtol, atol = RED_TOL[am.float32]
    assert_tensor(out, expected, dtype=want, rtol=rtol, atol=atol)
    assert_tensor(getattr(t, name)(axis=axis, keepdims=keepdims), expected, dtype=want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "argmax", "argmin", "any", "all"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)], ids=str)
def test_reduce_layouts(rng, name, layout, axis):
    a = random_array(rng, (6, 7), am.float32, low=0.5, high=1.5)
    t = make_tensor(a, layout)
    if name in ("argmax", "argmin") and isinstance(axis, tuple):
        with pytest.raises(ValueError, match=name):  # they take a single axis
            getattr(am, name)(t, axis=axis)
        return
    expected = _np_reduce(name, a, axis, False)
    rtol, atol = RED_TOL[am.float32]
    assert_tensor(getattr(am, name)(t, axis=axis), expected, dtype=_result_dtype(name, am.float32), rtol=rtol,
                  atol=atol)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "argmax", "argmin"])
@pytest.mark.parametrize("dt", FLOAT_DTYPES + INT_DTYPES, ids=dtype_id)
@pytest.mark.parametrize("axis", [None, 0, 1], ids=str)
def test_reduce_dtypes(rng, name, dt, axis):
    hi = 1.5 if name == "prod" else 9
    a = random_array(rng, (5, 6), dt, low=0 if dt == am.uint8 else -hi, high=hi)
    if name == "prod" and dt in FLOAT_DTYPES:
        a = random_array(rng, (5, 6), dt, low=0.6, high=1.4)
    if name in ("argmax", "argmin") and dt in (am.float16, am.bfloat16):
        # distinct values so low precision cannot create ties
        a = (rng.permutation(30).reshape(5, 6) - 15).astype(a.dtype)
    expected = _np_reduce(name, a, axis, False)
    want = _result_dtype(name, dt)
    if want in INT_DTYPES or want == am.int64:
        expected = np.asarray(expected).astype(np.int64 if want == am.int64 else a.dtype)
    rtol, atol = RED_TOL.get(want, (0, 0))
    assert_tensor(getattr(am, name)(make_tensor(a, "transposed"), axis=axis), expected, dtype=want, rtol=rtol,
                  atol=atol)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "any", "all", "mean", "argmax"])
def test_reduce_bool(rng, name):
    a = random_array(rng, (4, 9), am.bool_)
    t = am.tensor(a)
    for axis in (None, 0, 1):
        expected = getattr(np, name)(a, axis=axis)
        if name in ("sum", "prod"):
            assert_tensor(getattr(am, name)(t, axis=axis), np.asarray(expected).astype(np.int64), dtype=am.int64)
        elif name == "mean":
            assert_tensor(am.mean(t, axis=axis), expected, dtype=am.float32)
        elif name == "argmax":
            assert_tensor(am.argmax(t, axis=axis), expected, dtype=am.int64)
        else:
            assert_tensor(getattr(am, name)(t, axis=axis), expected, dtype=am.bool_)


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
@pytest.mark.parametrize("dt", [am.float32, am.float64, am.int32], ids=dtype_id)
def test_var_ddof(rng, ddof, axis, dt):
    a = random_array(rng, (6, 8), dt)
    expected = np.var(a.astype(np.float64), axis=axis, ddof=ddof)
    assert_tensor(am.var(make_tensor(a, "strided"), axis=axis, ddof=ddof), expected,
                  dtype=dt if dt in FLOAT_DTYPES else am.float32, rtol=1e-5, atol=1e-5)
    assert_tensor(am.tensor(a).var(axis=axis, ddof=ddof, keepdims=True),
                  np.var(a.astype(np.float64), axis=axis, ddof=ddof, keepdims=True),
                  rtol=1e-5, atol=1e-5)


def test_var_of_constant_is_zero():
    # a naive sum-of-squares formula loses everything here
    a = np.full((1000,), 1e4 + 0.1, np.float32)
    out = am.var(am.tensor(a))
    assert abs(out.item()) < 1e-2


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(rng, name, axis, keepdims):
    a = rng.integers(0, 4, size=(5, 7)).astype(np.float32)  # many ties: first occurrence wins
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdims)
    assert_tensor(getattr(am, name)(make_tensor(a, "transposed"), axis=axis, keepdims=keepdims), expected,
                  dtype=am.int64)


def test_argmax_nan():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, np.nan]], np.float32)
    for name in ("argmax", "argmin"):
        for axis in (None, 0, 1):
            assert_tensor(getattr(am, name)(am.tensor(a), axis=axis), getattr(np, name)(a, axis=axis))


def test_max_min_nan_propagates():
    a = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 4.0]], np.float32)
    for name in ("max", "min"):
        for axis in (None, 0, 1):
            assert_tensor(getattr(am, name)(am.tensor(a), axis=axis), getattr(np, name)(a, axis=axis))


def test_sum_inf_nan():
    a = np.array([np.inf, 1.0, -np.inf, np.nan], np.float32)
    assert np.isnan(am.sum(am.tensor(a)).item())
    assert am.sum(am.tensor(a[:2])).item() == np.inf


# --- empty and 0-d ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "any", "all", "var"])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
def test_reduce_empty(name, axis):
    a = np.zeros((0, 3), np.float32)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = _np_reduce(name, a, axis, False)
    assert_tensor(getattr(am, name)(am.tensor(a), axis=axis), expected, dtype=_result_dtype(name, am.float32))


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_reduce_empty_without_identity(name):
    t = am.zeros((0, 3))
    with pytest.raises(ValueError) as e:
        getattr(am, name)(t, axis=0)
    assert name in str(e.value) and "(0, 3)" in str(e.value)
    # reducing the non-empty axis is fine and gives an empty result
    assert getattr(am, name)(t, axis=1).shape == (0,)


def test_reduce_int_empty_sum():
    assert_tensor(am.sum(am.zeros((0,), dtype=am.int32)), np.array(0, np.int64), dtype=am.int64)
    assert_tensor(am.prod(am.zeros((2, 0), dtype=am.int8), axis=1), np.array([1, 1], np.int64), dtype=am.int64)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "argmax", "argmin", "any", "all", "var"])
@pytest.mark.parametrize("axis", [None, 0, -1, ()], ids=str)
def test_reduce_0d(name, axis):
    a = np.array(2.5, np.float32)
    if name in ("argmax", "argmin") and axis == ():
        with pytest.raises(ValueError, match=name):  # they take a single axis
            getattr(am, name)(am.tensor(a), axis=axis)
        return
    # a 0-d tensor reduces to itself (NumPy's mean/var reject axis=0 on 0-d; sum accepts it)
    expected = _np_reduce(name, a, None if name in ("mean", "var") else axis, False)
    out = getattr(am, name)(am.tensor(a), axis=axis)
    assert_tensor(out, expected, dtype=_result_dtype(name, am.float32))
    out = getattr(am, name)(am.tensor(a), axis=axis, keepdims=True)
    assert out.shape == ()


# --- size, precision, random shapes ------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 16, 17, 255, 1000, 4099, 1 << 20])
def test_sum_mean_large_1d(rng, n):
    a = rng.standard_normal(n).astype(np.float32)
    rtol = 1e-5
    np.testing.assert_allclose(am.sum(am.tensor(a)).item(), a.astype(np.float64).sum(), rtol=rtol,
                               atol=1e-4 * np.sqrt(n))
    np.testing.assert_allclose(am.mean(am.tensor(a)).item(), a.astype(np.float64).mean(), rtol=rtol,
                               atol=1e-5)
    assert am.max(am.tensor(a)).item() == a.max()
    assert am.argmin(am.tensor(a)).item() == a.argmin()


@pytest.mark.parametrize("shape, axis", [((513, 300), 0), ((300, 513), 1), ((64, 65, 66), (0, 2)),
                                         ((2000, 3), 0), ((3, 2000), 1), ((1, 50000), 0)], ids=str)
def test_sum_moderate_2d(rng, shape, axis):
    a = rng.standard_normal(shape).astype(np.float32)
    expected = a.astype(np.float64).sum(axis=axis)
    assert_tensor(am.sum(am.tensor(a), axis=axis), expected, dtype=am.float32, rtol=1e-5, atol=1e-4)
    assert_tensor(am.max(am.tensor(a), axis=axis), a.max(axis=axis), dtype=am.float32)


@pytest.mark.parametrize("seed", range(12))
def test_reduce_random_shapes(seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 5))
    shape = tuple(int(s) for s in rng.integers(0 if seed % 4 == 0 else 1, 6, size=nd))
    axes = tuple(int(d) for d in range(nd) if rng.random() < 0.5)
    a = rng.standard_normal(shape).astype(np.float32)
    t = make_tensor(a, LAYOUTS[seed % len(LAYOUTS)])
    keep = bool(seed % 2)
    for name in ("sum", "mean", "var", "prod", "any", "all"):
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = _np_reduce(name, a, axes, keep)
        assert_tensor(getattr(am, name)(t, axis=axes, keepdims=keep), expected, rtol=1e-5, atol=1e-5)
    if a.size:
        for name in ("max", "min"):
            assert_tensor(getattr(am, name)(t, axis=axes, keepdims=keep), getattr(np, name)(a, axis=axes, keepdims=keep))
