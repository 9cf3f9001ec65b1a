"""layer_norm and batch_norm (am.nn.functional) against NumPy references: shapes, affine
parameters, non-contiguous inputs, empty batches, dtypes, running statistics, errors, and
gradients of every input against central finite differences in float64."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import make_tensor, numeric_grad


def ref_layer_norm(x, k, w=None, b=None, eps=1e-5):
    x = np.asarray(x, np.float64)
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if w is not None:
        y = y * np.asarray(w, np.float64)
    if b is not None:
        y = y + np.asarray(b, np.float64)
    return y


def ref_batch_norm(x, mean=None, var=None, w=None, b=None, eps=1e-5):
    """Batch statistics when mean / var are None."""
    x = np.asarray(x, np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - np.reshape(mean, shape)) / np.sqrt(np.reshape(var, shape) + eps)
    if w is not None:
        y = y * np.reshape(w, shape)
    if b is not None:
        y = y + np.reshape(b, shape)
    return y



# ---------------------------------------------------------------------------------------------
# layer norm


@pytest.mark.parametrize("shape,k", [((4, 7), 1), ((3, 5, 16), 1), ((2, 3, 4, 5), 2), ((6, 768), 1),
                                     ((2, 4099), 1), ((5,), 1), ((2, 3), 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_numpy(rng, shape, k, affine):
    x = (rng.standard_normal(shape) * 3 + 2).astype(np.float32)
    w = rng.standard_normal(shape[-k:]).astype(np.float32) if affine else None
    b = rng.standard_normal(shape[-k:]).astype(np.float32) if affine else None
    got = F.layer_norm(am.tensor(x), shape[-k:], None if w is None else am.tensor(w),
                       None if b is None else am.tensor(b))
    assert got.dtype == am.float32 and got.shape == shape
    np.testing.assert_allclose(got.numpy(), ref_layer_norm(x, k, w, b), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset", "from_numpy_strided"])
def test_layer_norm_non_contiguous(rng, layout):
    x = rng.standard_normal((6, 9)).astype(np.float32)
    w, b = rng.standard_normal(9).astype(np.float32), rng.standard_normal(9).astype(np.float32)
    got = F.layer_norm(make_tensor(x, layout), 9, make_tensor(w, "strided"), am.tensor(b), eps=1e-3)
    np.testing.assert_allclose(got.numpy(), ref_layer_norm(x, 1, w, b, 1e-3), rtol=1e-4, atol=2e-5)


def test_layer_norm_constant_rows_and_int_shape(rng):
    x = np.full((3, 8), 5.0, np.float32)
    np.testing.assert_array_equal(F.layer_norm(am.tensor(x), 8).numpy(), np.zeros((3, 8), np.float32))
    x = rng.standard_normal((2, 3, 4)).astype(np.float32) * 1e3 + 1e4  # large offset: two-pass variance
    np.testing.assert_allclose(F.layer_norm(am.tensor(x), (3, 4)).numpy(), ref_layer_norm(x, 2), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float16, 5e-3)])
def test_layer_norm_dtypes(rng, dtype, tol):
    x = rng.standard_normal((5, 12)).astype(dtype)
    w = rng.standard_normal(12).astype(dtype)
    got = F.layer_norm(am.tensor(x), 12, am.tensor(w))
    assert got.dtype == am.tensor(x).dtype
    ref = ref_layer_norm(x, 1, w)
    np.testing.assert_allclose(got.numpy().astype(np.float64), ref, rtol=tol, atol=tol * (1 + np.abs(ref).max()))


def test_layer_norm_empty_batch():
    x = am.tensor(np.zeros((0, 4), np.float32), requires_grad=True)
    w = am.tensor(np.ones(4, np.float32), requires_grad=True)
    y = F.layer_norm(x, 4, w)
    assert y.shape == (0, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 4)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(4, np.float32))


def test_layer_norm_errors():
    x = am.ones((2, 3, 4))
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(5,\) is not the trailing shape"):
        F.layer_norm(x, 5)
    with pytest.raises(ValueError, match="layer_norm: normalized_shape"):
        F.layer_norm(x, (2, 3, 4, 1))
    with pytest.raises(ValueError, match="layer_norm: normalized_shape"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match=r"layer_norm: weight float32 \(3,\).*must have shape \(4,\)"):
        F.layer_norm(x, 4, am.ones(3))
    with pytest.raises(ValueError, match=r"layer_norm: bias .*must have shape \(3, 4\)"):
        F.layer_norm(x, (3, 4), None, am.ones(4))
    with pytest.raises(TypeError, match="layer_norm: needs a floating input"):
        F.layer_norm(am.tensor([[1, 2], [3, 4]]), 2)
    with pytest.raises(TypeError, match="layer_norm: weight must be a floating tensor"):
        F.layer_norm(am.ones((2, 2)), 2, am.tensor([1, 2]))


@pytest.mark.parametrize("shape,k", [((3, 5), 1), ((2, 3, 4), 2)])
def test_layer_norm_gradients(rng, shape, k):
    x = rng.standard_normal(shape)
    w, b = rng.standard_normal(shape[-k:]), rng.standard_normal(shape[-k:])
    probe = rng.standard_normal(shape)
    tx, tw, tb = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.layer_norm(tx, shape[-k:], tw, tb, eps=1e-3) * am.tensor(probe)).sum().backward()
    loss = lambda x_, w_, b_: (ref_layer_norm(x_, k, w_, b_, 1e-3) * probe).sum()  # noqa: E731
    np.testing.assert_allclose(tx.grad.numpy(), numeric_grad(lambda a: loss(a, w, b), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tw.grad.numpy(), numeric_grad(lambda a: loss(x, a, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tb.grad.numpy(), numeric_grad(lambda a: loss(x, w, a), b), rtol=1e-6, atol=1e-8)


def test_layer_norm_gradient_float32_many_rows(rng):
    """The threaded backward (per-task weight / bias partials) against float64 NumPy."""
    x = rng.standard_normal((600, 64)).astype(np.float32)
    w, b = rng.standard_normal(64).astype(np.float32), rng.standard_normal(64).astype(np.float32)
    g = rng.standard_normal((600, 64)).astype(np.float32)
    tx, tw, tb = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.layer_norm(tx, 64, tw, tb) * am.tensor(g)).sum().backward()
    x64 = x.astype(np.float64)
    mean, var = x64.mean(1, keepdims=True), x64.var(1, keepdims=True)
    xhat = (x64 - mean) / np.sqrt(var + 1e-5)
    gw = g * w
    dx = (gw - gw.mean(1, keepdims=True) - xhat * (gw * xhat).mean(1, keepdims=True)) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(tx.grad.numpy(), dx, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(tw.grad.numpy(), (g * xhat).sum(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(tb.grad.numpy(), g.sum(0), rtol=1e-4, atol=1e-3)


def test_layer_norm_gradient_without_affine(rng):
    x = rng.standard_normal((4, 6))
    probe = rng.standard_normal((4, 6))
    tx = am.tensor(x, requires_grad=True)
    (F.layer_norm(tx, 6) * am.tensor(probe)).sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), numeric_grad(lambda a: (ref_layer_norm(a, 1) * probe).sum(), x),
                               rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# batch norm


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 7), (3, 4, 5, 6), (2, 3, 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_numpy(rng, shape, affine):
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    c = shape[1]
    w = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    got = F.batch_norm(am.tensor(x), None, None, None if w is None else am.tensor(w),
                       None if b is None else am.tensor(b), training=True)
    assert got.shape == shape and got.dtype == am.float32
    np.testing.assert_allclose(got.numpy(), ref_batch_norm(x, w=w, b=b), rtol=1e-4, atol=2e-5)


def test_batch_norm_running_statistics(rng):
    x = rng.standard_normal((6, 3, 5)).astype(np.float32) * 2 + 3
    rm, rv = am.tensor(np.zeros(3, np.float32)), am.tensor(np.ones(3, np.float32))
    F.batch_norm(am.tensor(x), rm, rv, training=True, momentum=0.25)
    m, v = x.mean(axis=(0, 2)), x.var(axis=(0, 2), ddof=1)
    np.testing.assert_allclose(rm.numpy(), 0.25 * m, rtol=1e-5)
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * v, rtol=1e-5)
    # eval normalises with the running statistics and leaves them alone
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    before = rm.numpy().copy()
    got = F.batch_norm(am.tensor(x), rm, rv, am.tensor(w), am.tensor(b), training=False)
    np.testing.assert_allclose(got.numpy(), ref_batch_norm(x, rm.numpy(), rv.numpy(), w, b), rtol=1e-4, atol=2e-5)
    np.testing.assert_array_equal(rm.numpy(), before)


def test_batch_norm_float64_running_stats_on_float16_input(rng):
    x = rng.standard_normal((8, 4)).astype(np.float16)
    rm, rv = am.tensor(np.zeros(4)), am.tensor(np.ones(4))
    y = F.batch_norm(am.tensor(x), rm, rv, training=True, momentum=1.0)
    assert y.dtype == am.float16
    np.testing.assert_allclose(y.numpy().astype(np.float64), ref_batch_norm(x), rtol=5e-3, atol=5e-3)
    np.testing.assert_allclose(rm.numpy(), x.astype(np.float64).mean(0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", ["transposed", "strided", "offset"])
def test_batch_norm_non_contiguous(rng, layout):
    x = rng.standard_normal((5, 4, 6)).astype(np.float32)
    got = F.batch_norm(make_tensor(x, layout), None, None, training=True)
    np.testing.assert_allclose(got.numpy(), ref_batch_norm(x), rtol=1e-4, atol=2e-5)


def test_batch_norm_empty_batch():
    rm, rv = am.tensor(np.zeros(3, np.float32)), am.tensor(np.ones(3, np.float32))
    x = am.tensor(np.zeros((0, 3, 4), np.float32), requires_grad=True)
    y = F.batch_norm(x, rm, rv, training=True)
    assert y.shape == (0, 3, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 4)
    np.testing.assert_array_equal(rm.numpy(), np.zeros(3, np.float32))
    assert F.batch_norm(am.zeros((0, 3)), rm, rv).shape == (0, 3)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"batch_norm: input must be \(N, C\) or \(N, C, \*spatial\), got float32 \(5,\)"):
        F.batch_norm(am.ones(5), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected more than 1 value per channel when training, got input float32 \(1, 3\)"):
        F.batch_norm(am.ones((1, 3)), None, None, training=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(am.ones((1, 3, 1, 1)), am.zeros(3), am.ones(3), training=True)
    F.batch_norm(am.ones((1, 3)), am.zeros(3), am.ones(3), training=False)  # eval: fine
    with pytest.raises(ValueError, match=r"batch_norm: weight float32 \(4,\).*must have shape \(3,\)"):
        F.batch_norm(am.ones((2, 3)), None, None, am.ones(4), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: running_mean float32 \(2,\) .*must have shape \(3,\)"):
        F.batch_norm(am.ones((2, 3, 4)), am.zeros(2), am.ones(2))
    with pytest.raises(ValueError, match="running_mean and running_var must be given together"):
        F.batch_norm(am.ones((2, 3)), am.zeros(3), None)
    with pytest.raises(TypeError, match="batch_norm: needs a floating input"):
        F.batch_norm(am.tensor([[1, 2], [3, 4]]), None, None, training=True)
    with pytest.raises(TypeError, match="batch_norm: running_var must be a floating tensor"):
        F.batch_norm(am.ones((2, 2)), am.zeros(2), am.tensor([1, 1]))


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 4)])
def test_batch_norm_training_gradients(rng, shape):
    x = rng.standard_normal(shape)
    c = shape[1]
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    probe = rng.standard_normal(shape)
    tx, tw, tb = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.batch_norm(tx, None, None, tw, tb, training=True, eps=1e-3) * am.tensor(probe)).sum().backward()
    loss = lambda x_, w_, b_: (ref_batch_norm(x_, w=w_, b=b_, eps=1e-3) * probe).sum()  # noqa: E731
    np.testing.assert_allclose(tx.grad.numpy(), numeric_grad(lambda a: loss(a, w, b), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tw.grad.numpy(), numeric_grad(lambda a: loss(x, a, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tb.grad.numpy(), numeric_grad(lambda a: loss(x, w, a), b), rtol=1e-6, atol=1e-8)


def test_batch_norm_eval_gradients(rng):
    x = rng.standard_normal((4, 3, 2))
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    probe = rng.standard_normal(x.shape)
    tx, tw, tb = (am.tensor(a, requires_grad=True) for a in (x, w, b))
    (F.batch_norm(tx, am.tensor(rm), am.tensor(rv), tw, tb) * am.tensor(probe)).sum().backward()
    loss = lambda x_, w_, b_: (ref_batch_norm(x_, rm, rv, w_, b_) * probe).sum()  # noqa: E731
    np.testing.assert_allclose(tx.grad.numpy(), numeric_grad(lambda a: loss(a, w, b), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tw.grad.numpy(), numeric_grad(lambda a: loss(x, a, b), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tb.grad.numpy(), numeric_grad(lambda a: loss(x, w, a), b), rtol=1e-6, atol=1e-8)


def test_batch_norm_large_planes_float32(rng):
    """Threaded per-channel sums (several tasks) over big planes."""
    x = rng.standard_normal((4, 3, 70000)).astype(np.float32) + 5
    g = rng.standard_normal(x.shape).astype(np.float32)
    tx = am.tensor(x, requires_grad=True)
    w = am.tensor(np.ones(3, np.float32), requires_grad=True)
    y = F.batch_norm(tx, None, None, w, training=True)
    np.testing.assert_allclose(y.numpy(), ref_batch_norm(x), rtol=1e-4, atol=1e-4)
    (y * am.tensor(g)).sum().backward()
    xhat = ref_batch_norm(x)
    np.testing.assert_allclose(w.grad.numpy(), (g * xhat).sum(axis=(0, 2)), rtol=1e-4, atol=1e-2)
