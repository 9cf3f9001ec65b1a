"""dropout (am.nn.functional): the mask's rate and scale, reproducibility under am.manual_seed,
identity in eval and at p = 0, p = 1, dtypes, non-contiguous and empty inputs, errors, and the
gradient (the same mask, regenerated)."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import make_tensor


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_rate_and_scale(p):
    am.manual_seed(0)
    n = 200_001  # not a multiple of 4: a partial last Philox counter
    y = F.dropout(am.ones(n), p).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    # Binomial: mean (1 - p) n, std sqrt(p (1 - p) n); 5 standard deviations.
    assert abs(kept.sum() - (1 - p) * n) < 5 * np.sqrt(p * (1 - p) * n)


def test_values_kept_exactly_scaled(rng):
    x = rng.standard_normal((37, 29)).astype(np.float32)
    y = F.dropout(am.tensor(x), 0.3).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)
    assert 0 < kept.sum() < x.size


def test_seeded_and_advancing():
    am.manual_seed(7)
    a = F.dropout(am.ones(1000), 0.5).numpy()
    b = F.dropout(am.ones(1000), 0.5).numpy()
    am.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(am.ones(1000), 0.5).numpy(), a)
    assert not np.array_equal(a, b)  # the stream moved on


def test_mask_independent_of_thread_count():
    x = am.ones(300_000)
    am.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    threads = am.get_num_threads()
    try:
        am.set_num_threads(1)
        am.manual_seed(3)
        b = F.dropout(x, 0.5).numpy()
    finally:
        am.set_num_threads(threads)
    np.testing.assert_array_equal(a, b)


def test_identity_in_eval_and_at_zero(rng):
    x = am.tensor(rng.standard_normal((4, 5)).astype(np.float32))
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.0).numpy(), x.numpy())


def test_p_one_zeroes_everything():
    y = F.dropout(am.full((3, 4), 2.0), 1.0)
    np.testing.assert_array_equal(y.numpy(), np.zeros((3, 4), np.float32))
    assert not np.isnan(y.numpy()).any()


@pytest.mark.parametrize("dtype", [am.float64, am.float16, am.bfloat16])
def test_dtypes(dtype):
    y = F.dropout(am.ones(1000, dtype=dtype), 0.5)
    assert y.dtype == dtype
    vals = np.unique(y.to(am.float64).numpy())
    np.testing.assert_array_equal(vals, [0.0, 2.0])


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "from_numpy_strided"])
def test_non_contiguous(rng, layout):
    x = rng.uniform(1, 2, (20, 30)).astype(np.float32)
    y = F.dropout(make_tensor(x, layout), 0.5).numpy()
    kept = y != 0
    assert y.shape == x.shape
    np.testing.assert_allclose(y[kept], 2 * x[kept], rtol=1e-6)


def test_empty():
    x = am.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    y = F.dropout(x, 0.5)
    assert y.shape == (0, 3)
    y.sum().backward()
    assert x.grad.shape == (0, 3)


def test_errors():
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="dropout: probability p must be in \\[0, 1\\]"):
            F.dropout(am.ones(3), p)
        with pytest.raises(ValueError, match="dropout: probability p"):
            F.dropout(am.ones(3), p, training=False)
    with pytest.raises(TypeError, match="dropout: needs a floating input, got int64"):
        F.dropout(am.tensor([1, 2, 3]), 0.5)


def test_gradient_uses_the_same_mask(rng):
    x = rng.standard_normal((50, 40))
    g = rng.standard_normal((50, 40))
    t = am.tensor(x, requires_grad=True)
    y = F.dropout(t, 0.4)
    # Draws in between must not change the regenerated mask.
    am.rand((1000,))
    (y * am.tensor(g)).sum().backward()
    mask = y.numpy() != 0
    np.testing.assert_allclose(t.grad.numpy(), np.where(mask, g / 0.6, 0.0), rtol=1e-12)


def test_gradient_matches_finite_differences(rng):
    """With the mask fixed by the seed, dropout is linear: central differences recover it."""
    x = rng.standard_normal(12)
    probe = rng.standard_normal(12)

    def f(a):
        am.manual_seed(11)
        return float((F.dropout(am.tensor(a), 0.5) * am.tensor(probe)).sum().item())

    am.manual_seed(11)
    t = am.tensor(x, requires_grad=True)
    (F.dropout(t, 0.5) * am.tensor(probe)).sum().backward()
    eps = 1e-6
    num = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(12)])
    np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-6, atol=1e-8)
