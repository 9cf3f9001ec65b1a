"""gelu (exact and tanh), silu and leaky_relu (am.nn.functional) against NumPy references:
values over a wide range, dtypes, non-contiguous and empty inputs, errors, and gradients
against central finite differences in float64. Also the re-exported relu / sigmoid / tanh /
softmax / log_softmax."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import make_tensor

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def ref(name, x, slope=0.01):
    x = np.asarray(x, np.float64)
    if name == "gelu":
        return x * 0.5 * _erfc(-x / math.sqrt(2))
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    if name == "silu":
        with np.errstate(over="ignore"):  # exp(-x) -> inf gives the right limit, -0
            return x / (1 + np.exp(-x))
    return np.where(x > 0, x, x * slope)


def call(name, x, slope=0.01):
    if name == "gelu":
        return F.gelu(x)
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if name == "silu":
        return F.silu(x)
    return F.leaky_relu(x, slope)


NAMES = ["gelu", "gelu_tanh", "silu", "leaky_relu"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(7,), (33, 65), (2, 3, 1000), (0, 5)])
def test_matches_numpy(rng, name, shape):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    got = call(name, am.tensor(x))
    assert got.dtype == am.float32 and got.shape == shape
    np.testing.assert_allclose(got.numpy(), ref(name, x), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_wide_range_and_tails(name):
    x = np.concatenate([np.linspace(-20, 20, 4001), [-1e3, -60.0, 60.0, 1e3, 0.0, -0.0, 1e-30]]).astype(np.float32)
    got = call(name, am.tensor(x)).numpy()
    expected = ref(name, x)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-7)
    assert np.isnan(call(name, am.tensor(np.array([np.nan], np.float32))).numpy()).all()


def test_gelu_left_tail_keeps_relative_precision():
    x = np.array([-5.0, -8.0, -10.0], np.float32)
    np.testing.assert_allclose(F.gelu(am.tensor(x)).numpy(), ref("gelu", x), rtol=2e-5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float16, 2e-3)])
def test_dtypes(rng, name, dtype, tol):
    x = (rng.standard_normal((9, 11)) * 3).astype(dtype)
    got = call(name, am.tensor(x))
    assert got.dtype == am.tensor(x).dtype
    np.testing.assert_allclose(got.numpy().astype(np.float64), ref(name, x), rtol=tol, atol=tol)


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "from_numpy_strided"])
def test_non_contiguous(rng, layout):
    x = (rng.standard_normal((8, 6)) * 3).astype(np.float32)
    for name in NAMES:
        np.testing.assert_allclose(call(name, make_tensor(x, layout)).numpy(), ref(name, x), rtol=2e-6, atol=2e-6)


def test_leaky_relu_slope():
    x = am.tensor(np.array([-2.0, -0.5, 0.0, 3.0], np.float32))
    np.testing.assert_array_equal(F.leaky_relu(x, 0.2).numpy(), np.array([-0.4, -0.1, 0.0, 3.0], np.float32))
    np.testing.assert_array_equal(F.leaky_relu(x).numpy(), np.array([-0.02, -0.005, 0.0, 3.0], np.float32))


def test_errors():
    for name in NAMES:
        with pytest.raises(TypeError, match=f"{name}: needs a floating tensor, got int64"):
            call(name, am.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh'"):
        F.gelu(am.ones(3), approximate="erf")


@pytest.mark.parametrize("name", NAMES)
def test_gradients(rng, name):
    x = rng.standard_normal((4, 5)) * 3
    x[0, 0] = 1e-3  # near the kink of leaky_relu, still on one side
    probe = rng.standard_normal(x.shape)
    t = am.tensor(x, requires_grad=True)
    (call(name, t, 0.1) * am.tensor(probe)).sum().backward()
    eps = 1e-7
    num = (ref(name, x + eps, 0.1) - ref(name, x - eps, 0.1)) / (2 * eps) * probe
    np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_float32(rng, name):
    """The float32 SIMD derivatives against float64 analytic ones (finite differences of the reference)."""
    x = (rng.standard_normal(1000) * 4).astype(np.float32)
    t = am.tensor(x, requires_grad=True)
    call(name, t).sum().backward()
    x64 = x.astype(np.float64)
    eps = 1e-6
    num = (ref(name, x64 + eps) - ref(name, x64 - eps)) / (2 * eps)
    assert t.grad.dtype == am.float32
    np.testing.assert_allclose(t.grad.numpy(), num, rtol=1e-5, atol=1e-6)


def test_reexports(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = am.tensor(x)
    np.testing.assert_allclose(F.relu(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(F.sigmoid(t).numpy(), 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-6)
    np.testing.assert_allclose(F.tanh(t).numpy(), np.tanh(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(F.softmax(t, axis=0).numpy().sum(0), np.ones(4), rtol=1e-6)
    np.testing.assert_allclose(np.exp(F.log_softmax(t).numpy()).sum(-1), np.ones(3), rtol=1e-6)
    for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "silu", "leaky_relu", "layer_norm",
                 "batch_norm", "dropout"):
        assert callable(getattr(F, name))
