"""In-place operators write through every view, follow NumPy's same-kind rule, and are
refused on tensors that require grad."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**=", "%="])
def test_inplace_matches_numpy_and_keeps_identity(op, rng):
    a = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (4,)).astype(np.float32)
    t = am.tensor(a)
    view = t[1]
    before = id(t)
    ns = {"t": t, "b": am.tensor(b)}
    exec(f"t {op} b", ns)
    expected = a.copy()
    exec(f"expected {op} b", {"expected": expected, "b": b})
    assert id(ns["t"]) == before
    np.testing.assert_allclose(t.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(view.numpy(), expected[1], rtol=1e-6)


def test_inplace_scalar_and_bool():
    t = am.tensor([1, 2, 3])
    t *= 2
    t += 1
    np.testing.assert_array_equal(t.numpy(), [3, 5, 7])
    assert t.dtype == am.int64
    m = am.tensor([True, False])
    m |= am.tensor([False, True])
    np.testing.assert_array_equal(m.numpy(), [True, True])


def test_inplace_errors():
    t = am.tensor([1, 2])
    with pytest.raises(TypeError, match="cannot be stored in int64"):
        t += 0.5
    with pytest.raises(TypeError, match="cannot be stored"):
        t /= 2
    s = am.ones(3)
    with pytest.raises(ValueError, match="not the shape of the tensor written to"):
        s += am.ones((2, 3))
    w = am.ones(3, dtype=am.float32).requires_grad_()
    with pytest.raises(RuntimeError, match="requires grad"):
        w -= 1.0
    with am.no_grad():
        w -= 1.0  # an optimizer step
    np.testing.assert_array_equal(w.numpy(), [0, 0, 0])
