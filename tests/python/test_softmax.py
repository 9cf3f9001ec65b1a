"""softmax / log_softmax against NumPy (stable reference), dtypes, axes, extremes, gradients."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am


def ref_softmax(x, axis, log):
    x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape,axis", [((5,), -1), ((4, 7), -1), ((4, 7), 0), ((2, 3, 9), 1), ((3, 1000), -1), ((0, 4), -1)])
def test_matches_numpy(rng, shape, axis, log):
    x = rng.standard_normal(shape).astype(np.float32) * 5
    fn = am.log_softmax if log else am.softmax
    np.testing.assert_allclose(fn(am.tensor(x), axis=axis).numpy(), ref_softmax(x, axis, log), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float16, 2e-3)])
def test_dtypes(rng, dtype, tol):
    x = rng.standard_normal((6, 10)).astype(dtype)
    out = am.softmax(am.tensor(x))
    assert out.dtype == am.tensor(x).dtype
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref_softmax(x, -1, False), rtol=tol, atol=tol)
    np.testing.assert_allclose(am.tensor(x).log_softmax(0).numpy().astype(np.float64), ref_softmax(x, 0, True), rtol=tol, atol=tol)


def test_extremes_do_not_overflow():
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(am.softmax(am.tensor(x)).numpy(), [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], atol=1e-7)
    lsm = am.log_softmax(am.tensor(x)).numpy()
    np.testing.assert_allclose(lsm[0, :2], np.log(0.5), rtol=1e-6)
    assert np.isneginf(lsm[1, 0])
    assert np.isnan(am.softmax(am.full((1, 3), float("-inf"))).numpy()).all()


def test_errors():
    with pytest.raises(TypeError, match="softmax: needs a floating tensor"):
        am.softmax(am.tensor([1, 2, 3]))
    with pytest.raises(IndexError, match="softmax: axis 2"):
        am.softmax(am.ones((2, 2)), axis=2)


@pytest.mark.parametrize("log", [False, True])
def test_gradient_matches_finite_differences(rng, log):
    x = rng.standard_normal((3, 5))
    w = rng.standard_normal((3, 5))
    fn = am.log_softmax if log else am.softmax
    t = am.tensor(x, requires_grad=True)
    (fn(t, axis=0) * am.tensor(w)).sum().backward()
    eps, num = 1e-6, np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        num[idx] = ((ref_softmax(up, 0, log) - ref_softmax(down, 0, log)) * w).sum() / (2 * eps)
    np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-6, atol=1e-8)
