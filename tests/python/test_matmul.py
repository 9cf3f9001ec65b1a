"""matmul and @ against NumPy: vectors, matrices, batches with broadcasting, transposed and
strided operands, empty dims, every dtype."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
from conftest import (FLOAT_DTYPES, INT_DTYPES, LAYOUTS, RED_TOL, as_f64, assert_tensor, dtype_id, make_tensor,
                      random_array)

SHAPE_PAIRS = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((4, 3), (3,)),
    ((1, 1), (1, 1)),
    ((5, 7), (7, 3)),
    ((2, 5, 7), (7, 3)),
    ((5, 7), (2, 7, 3)),
    ((2, 5, 7), (2, 7, 3)),
    ((2, 1, 5, 7), (3, 7, 4)),
    ((3,), (2, 3, 4)),
    ((2, 4, 3), (3,)),
    ((0, 3), (3, 4)),
    ((4, 0), (0, 5)),
    ((3, 4), (4, 0)),
    ((0, 2, 3), (3, 2)),
    ((0,), (0,)),
    ((64, 65), (65, 63)),
    ((130, 257), (257, 129)),
]


@pytest.mark.parametrize("sa, sb", SHAPE_PAIRS, ids=str)
def test_matmul_shapes(rng, sa, sb):
    a = random_array(rng, sa, am.float32)
    b = random_array(rng, sb, am.float32)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    rtol, atol = RED_TOL[am.float32]
    atol *= max(1, sa[-1])  # float32 rounding grows with the inner dimension (cancellation near 0)
    assert_tensor(am.matmul(am.tensor(a), am.tensor(b)), expected, dtype=am.float32, rtol=rtol, atol=atol)
    assert_tensor(am.tensor(a) @ am.tensor(b), expected, dtype=am.float32, rtol=rtol, atol=atol)
    assert_tensor(am.tensor(a).matmul(am.tensor(b)), expected, dtype=am.float32, rtol=rtol, atol=atol)


@pytest.mark.parametrize("la", LAYOUTS)
@pytest.mark.parametrize("lb", LAYOUTS)
def test_matmul_layouts(rng, la, lb):
    a = random_array(rng, (6, 9), am.float32)
    b = random_array(rng, (9, 5), am.float32)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    rtol, atol = RED_TOL[am.float32]
    assert_tensor(make_tensor(a, la) @ make_tensor(b, lb), expected, dtype=am.float32, rtol=rtol, atol=atol)


def test_matmul_batched_noncontiguous(rng):
    rtol, atol = RED_TOL[am.float32]
    a = rng.standard_normal((4, 3, 6, 5)).astype(np.float32)
    b = rng.standard_normal((3, 5, 7)).astype(np.float32)
    ta = am.tensor(a).permute(1, 0, 2, 3)  # (3, 4, 6, 5) with batch dims swapped
    tb = am.tensor(b)[:, None]              # (3, 1, 5, 7)
    expected = np.matmul(a.transpose(1, 0, 2, 3).astype(np.float64), b[:, None].astype(np.float64))
    assert_tensor(ta @ tb, expected, dtype=am.float32, rtol=rtol, atol=atol)
    # transposed matrices inside a batch
    c = rng.standard_normal((3, 7, 5)).astype(np.float32)
    tc = am.tensor(c).transpose(1, 2)  # (3, 5, 7), column-major matrices
    assert_tensor(am.tensor(a)[0] @ tc, np.matmul(a[0].astype(np.float64), c.transpose(0, 2, 1)), rtol=rtol,
                  atol=atol)
    # broadcast (stride-0) operand
    v = am.broadcast_to(am.tensor(b[0]), (4, 5, 7))
    assert_tensor(am.tensor(a[:, 0]) @ v, np.matmul(a[:, 0].astype(np.float64), b[0].astype(np.float64)),
                  rtol=rtol, atol=atol)
    # every other row and column
    big = rng.standard_normal((12, 14)).astype(np.float32)
    tb2 = am.tensor(big)[::2, 1::2]
    assert_tensor(tb2 @ tb2.T, big[::2, 1::2].astype(np.float64) @ big[::2, 1::2].T.astype(np.float64),
                  rtol=rtol, atol=atol)


@pytest.mark.parametrize("dt", FLOAT_DTYPES + INT_DTYPES, ids=dtype_id)
def test_matmul_dtypes(rng, dt):
    a = random_array(rng, (2, 5, 6), dt, low=0 if dt == am.uint8 else -3, high=3)
    b = random_array(rng, (6, 4), dt, low=0 if dt == am.uint8 else -3, high=3)
    out = am.tensor(a) @ am.tensor(b)
    if dt in FLOAT_DTYPES:
        rtol, atol = RED_TOL[dt]
        assert_tensor(out, np.matmul(as_f64(a), as_f64(b)), dtype=dt, rtol=rtol, atol=atol)
    else:
        assert_tensor(out, np.matmul(a.astype(np.int64), b.astype(np.int64)).astype(a.dtype), dtype=dt)


def test_matmul_promotes(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.integers(-3, 3, (4, 2)).astype(np.int32)
    out = am.tensor(a) @ am.tensor(b)
    assert_tensor(out, a.astype(np.float64) @ b, dtype=am.float32, rtol=1e-5, atol=1e-5)
    out = am.tensor(a) @ am.tensor(b.astype(np.float64))
    assert out.dtype == am.float64


def test_matmul_with_numpy_operand(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 2)).astype(np.float32)
    assert_tensor(am.tensor(a) @ b, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    r = a @ am.tensor(b)
    assert isinstance(r, am.Tensor)
    assert_tensor(r, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_matmul_large(rng):
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 500)).astype(np.float32)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert_tensor(am.tensor(a) @ am.tensor(b), expected, dtype=am.float32, rtol=1e-4, atol=1e-3)


def test_matmul_k_zero_gives_zeros():
    out = am.ones((3, 0)) @ am.ones((0, 4))
    assert_tensor(out, np.zeros((3, 4), np.float32), dtype=am.float32)
    out = am.ones((3, 0), dtype=am.int32) @ am.ones((0, 2), dtype=am.int32)
    assert_tensor(out, np.zeros((3, 2), np.int32), dtype=am.int32)


def test_matmul_vector_vector_is_0d(rng):
    a = rng.standard_normal(17).astype(np.float32)
    out = am.tensor(a) @ am.tensor(a)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), float(a.astype(np.float64) @ a), rtol=1e-5)
