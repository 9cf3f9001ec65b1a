"""cross_entropy against a NumPy reference (and PyTorch where installed): class indices and
probabilities, weight, ignore_index, label_smoothing, every reduction, dtypes, extreme logits,
errors, and gradients against finite differences."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am

from conftest import NP_BF16, numeric_grad, to_np


def ref_log_softmax(x):
    x = np.asarray(x, np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def ref_cross_entropy(*args, **kwargs):
    """PyTorch's F.cross_entropy in float64, written out per sample; a zero coefficient times a
    -inf log-probability counts 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _ref_cross_entropy(*args, **kwargs)


def _ref_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    x = np.asarray(x, np.float64)
    target = np.asarray(target)
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], target[None]
    n, c = x.shape
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    logp = ref_log_softmax(x)
    eps = label_smoothing
    if target.dtype.kind == "f":
        q = (1 - eps) * target.astype(np.float64) + eps / c
        coef = w[None] * q
        loss = -np.where(coef != 0, coef * logp, 0.0).sum(axis=1)
        denom = n
    else:
        loss, denom = np.zeros(n), 0.0
        for i in range(n):
            y = int(target[i])
            if y == ignore_index:
                continue
            coef = (eps / c) * w
            coef[y] += (1 - eps) * w[y]
            loss[i] = -np.where(coef != 0, coef * logp[i], 0.0).sum()
            denom += w[y]
    if reduction == "none":
        return loss[0] if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    return np.float64(loss.sum()) / np.float64(denom)


def make_case(rng, n, c, soft, with_ignored=True):
    x = rng.standard_normal((n, c)) * 3
    if soft:
        p = rng.random((n, c))
        return x, p / p.sum(axis=1, keepdims=True)
    y = rng.integers(0, c, size=n)
    if with_ignored and n > 2:
        y[1] = -100
    return x, y


@pytest.mark.parametrize("soft", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_numpy(rng, soft, weighted, label_smoothing, reduction):
    x, y = make_case(rng, 7, 5, soft)
    w = rng.uniform(0.2, 2.0, 5) if weighted else None
    out = am.cross_entropy(
        am.tensor(x), am.tensor(y), weight=None if w is None else am.tensor(w),
        reduction=reduction, label_smoothing=label_smoothing,
    )
    assert out.dtype == am.float64
    expected = ref_cross_entropy(x, y, w, -100, reduction, label_smoothing)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(to_np(out), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (3, 1000), (300, 7), (0, 4)])
def test_shapes_float32(rng, shape):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    y = rng.integers(0, shape[1], size=shape[0])
    for reduction in ["none", "sum", "mean"]:
        out = am.cross_entropy(am.tensor(x), y, reduction=reduction)
        assert out.dtype == am.float32
        expected = ref_cross_entropy(x, y, reduction=reduction)
        if shape[0] == 0 and reduction == "mean":
            assert np.isnan(to_np(out))  # an empty mean, as PyTorch
        else:
            np.testing.assert_allclose(to_np(out), expected, rtol=2e-5, atol=1e-5)


def test_single_sample_and_target_forms(rng):
    x = rng.standard_normal(6)
    for target in [3, np.int64(3), am.tensor(3), np.array(3, np.int32)]:
        out = am.cross_entropy(am.tensor(x), target, reduction="none")
        assert out.shape == ()
        np.testing.assert_allclose(to_np(out), ref_cross_entropy(x, np.array(3)), rtol=1e-12)
    p = np.full(6, 1 / 6)
    np.testing.assert_allclose(to_np(am.cross_entropy(am.tensor(x), am.tensor(p))), ref_cross_entropy(x, p), rtol=1e-12)
    xb, yb = make_case(rng, 4, 3, soft=False, with_ignored=False)
    expected = ref_cross_entropy(xb, yb)
    for target in [yb.tolist(), yb.astype(np.int32), yb.astype(np.uint8), am.tensor(yb.astype(np.int8))]:
        np.testing.assert_allclose(to_np(am.cross_entropy(am.tensor(xb), target)), expected, rtol=1e-12)
    # Probabilities as a list: Python floats, converted to the logits' dtype.
    pb = np.full((4, 3), 1 / 3)
    np.testing.assert_allclose(to_np(am.cross_entropy(am.tensor(xb), pb.tolist())), ref_cross_entropy(xb, pb), rtol=1e-6)


def test_ignore_index_and_weights(rng):
    x = rng.standard_normal((5, 4))
    y = np.array([0, 2, 2, 1, 3])
    w = np.array([1.0, 0.5, 2.0, 0.25])
    for ignore in [2, 0, -1]:
        for reduction in ["mean", "sum", "none"]:
            out = am.cross_entropy(am.tensor(x), y, weight=am.tensor(w), ignore_index=ignore, reduction=reduction,
                                   label_smoothing=0.1)
            np.testing.assert_allclose(to_np(out), ref_cross_entropy(x, y, w, ignore, reduction, 0.1), rtol=1e-12)
    # Every row ignored, or every weight zero: the mean is 0 / 0 = NaN (PyTorch), the sum 0.
    yi = np.full(5, -100)
    assert np.isnan(to_np(am.cross_entropy(am.tensor(x), yi)))
    assert to_np(am.cross_entropy(am.tensor(x), yi, reduction="sum")) == 0.0
    np.testing.assert_array_equal(to_np(am.cross_entropy(am.tensor(x), yi, reduction="none")), np.zeros(5))
    assert np.isnan(to_np(am.cross_entropy(am.tensor(x), y, weight=am.zeros((4,), dtype=am.float64))))
    # ignore_index does not apply to probabilities.
    p = np.eye(4)[[0, 1, 2, 3, 0]]
    np.testing.assert_allclose(to_np(am.cross_entropy(am.tensor(x), am.tensor(p), ignore_index=0)),
                               ref_cross_entropy(x, p), rtol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(np.float16, 2e-3), ("bf16", 2e-2)])
def test_16_bit_floats_compute_in_float32(rng, dtype, tol):
    if dtype == "bf16":
        if NP_BF16 is None:
            pytest.skip("ml_dtypes not installed")
        dtype = NP_BF16
    x = rng.standard_normal((6, 10)).astype(dtype)
    y = rng.integers(0, 10, size=6)
    t = am.tensor(x)
    out = am.cross_entropy(t, y, label_smoothing=0.1)
    assert out.dtype == t.dtype
    expected = ref_cross_entropy(x.astype(np.float64), y, label_smoothing=0.1)
    np.testing.assert_allclose(to_np(out).astype(np.float64), expected, rtol=tol)
    p = rng.random((6, 10)).astype(dtype)
    soft = am.cross_entropy(t, am.tensor(p), reduction="none")
    assert soft.dtype == t.dtype
    np.testing.assert_allclose(to_np(soft).astype(np.float64), ref_cross_entropy(x, p.astype(np.float64), reduction="none"),
                               rtol=tol)
    tg = am.tensor(x, requires_grad=True)
    am.cross_entropy(tg, y).backward()
    assert tg.grad.dtype == tg.dtype and tg.grad.shape == (6, 10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, 1e4]], dtype)
    y = np.array([0, 1, 2])
    for eps in [0.0, 0.2]:
        t = am.tensor(x, requires_grad=True)
        out = am.cross_entropy(t, y, reduction="none", label_smoothing=eps)
        expected = ref_cross_entropy(x, y, reduction="none", label_smoothing=eps)
        np.testing.assert_allclose(to_np(out), expected, rtol=1e-6)
        assert np.isfinite(to_np(out)).all()
        out.sum().backward()
        g = to_np(t.grad)
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-6)  # sum_c a_c (softmax_c) - a_c
    # -inf logits: a class nobody scores contributes nothing (no 0 * inf NaN).
    xi = np.array([[0.0, -np.inf, 1.0]], dtype)
    np.testing.assert_allclose(to_np(am.cross_entropy(am.tensor(xi), [2])), ref_cross_entropy(xi, [2]), rtol=1e-6)
    assert np.isinf(to_np(am.cross_entropy(am.tensor(xi), [1])))
    assert np.isinf(to_np(am.cross_entropy(am.tensor(xi), [2], label_smoothing=0.1)))


def test_result_and_gradient_flags(rng):
    x, y = make_case(rng, 4, 3, soft=False)
    assert not am.cross_entropy(am.tensor(x), y).requires_grad
    t = am.tensor(x, requires_grad=True)
    target = am.tensor(y)
    w = am.tensor(np.ones(3))
    out = am.cross_entropy(t, target, weight=w)
    assert out.requires_grad
    out.backward()
    assert target.grad is None and w.grad is None
    # A saved target changed in place before the backward is caught.
    target2 = am.tensor(y)
    out2 = am.cross_entropy(am.tensor(x, requires_grad=True), target2)
    target2[0] = 2
    with pytest.raises(RuntimeError, match="in-place"):
        out2.backward()


def test_errors():
    x = am.zeros((3, 4))
    with pytest.raises(IndexError, match=r"cross_entropy: target 4 \(sample 1\) is out of bounds for 4 classes"):
        am.cross_entropy(x, [0, 4, 1])
    with pytest.raises(IndexError, match="cross_entropy: target -1"):
        am.cross_entropy(x, [0, -1, 1])
    with pytest.raises(IndexError, match="cross_entropy: target -100"):
        am.cross_entropy(x, [0, -100, 1], ignore_index=0)
    with pytest.raises(ValueError, match=r"cross_entropy: target class indices .*\(2,\).* do not match logits"):
        am.cross_entropy(x, [0, 1])
    with pytest.raises(ValueError, match="cross_entropy: target class indices"):
        am.cross_entropy(x, [[0], [1], [2]])
    with pytest.raises(ValueError, match="cross_entropy: target probabilities .* must have the shape of logits"):
        am.cross_entropy(x, am.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"cross_entropy: weight .* must have shape \(4,\)"):
        am.cross_entropy(x, [0, 1, 2], weight=am.ones((3,)))
    with pytest.raises(TypeError, match="cross_entropy: weight must be a floating tensor"):
        am.cross_entropy(x, [0, 1, 2], weight=am.tensor([1, 1, 1, 1]))
    for eps in [-0.1, 1.5, float("nan")]:
        with pytest.raises(ValueError, match="cross_entropy: label_smoothing must be in"):
            am.cross_entropy(x, [0, 1, 2], label_smoothing=eps)
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        am.cross_entropy(x, [0, 1, 2], reduction="avg")
    with pytest.raises(TypeError, match="cross_entropy: logits must be a floating tensor"):
        am.cross_entropy(am.tensor([[1, 2], [3, 4]]), [0, 1])
    with pytest.raises(TypeError, match="cross_entropy: target must be integer class indices"):
        am.cross_entropy(x, am.tensor([True, False, True]))
    with pytest.raises(ValueError, match=r"cross_entropy: logits must be \(N, C\) or \(C,\)"):
        am.cross_entropy(am.zeros((2, 3, 4)), [[0, 1, 2], [0, 1, 2]])
    with pytest.raises(ValueError, match="cross_entropy: logits .* have no classes"):
        am.cross_entropy(am.zeros((2, 0)), [0, 0])



@pytest.mark.parametrize("soft", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradient_matches_finite_differences(rng, soft, label_smoothing, reduction):
    x, y = make_case(rng, 5, 4, soft)
    w = rng.uniform(0.5, 2.0, 4)
    upstream = rng.uniform(0.5, 1.5, 5) if reduction == "none" else 1.7

    def f(xv):
        return float((np.asarray(ref_cross_entropy(xv, y, w, -100, reduction, label_smoothing)) * upstream).sum())

    t = am.tensor(x, requires_grad=True)
    out = am.cross_entropy(t, am.tensor(y), weight=am.tensor(w), reduction=reduction, label_smoothing=label_smoothing)
    (out * am.tensor(np.asarray(upstream, np.float64))).sum().backward()
    np.testing.assert_allclose(to_np(t.grad), numeric_grad(f, x), rtol=1e-6, atol=1e-8)
    if not soft:
        np.testing.assert_array_equal(to_np(t.grad)[1], 0.0)  # the ignored row


def test_gradient_single_sample(rng):
    x = rng.standard_normal(5)
    t = am.tensor(x, requires_grad=True)
    am.cross_entropy(t, 2, label_smoothing=0.2).backward()
    np.testing.assert_allclose(to_np(t.grad), numeric_grad(lambda v: ref_cross_entropy(v, np.array(2), label_smoothing=0.2), x),
                               rtol=1e-6, atol=1e-8)


def test_on_device(rng, device):
    x, y = make_case(rng, 6, 5, soft=False)
    w = rng.uniform(0.5, 2.0, 5)
    t = am.tensor(x.astype(np.float32), device=device, requires_grad=True)
    out = am.cross_entropy(t, am.tensor(y, device=device), weight=am.tensor(w.astype(np.float32), device=device),
                           label_smoothing=0.1)
    np.testing.assert_allclose(to_np(out), ref_cross_entropy(x, y, w, label_smoothing=0.1), rtol=1e-5)
    out.backward()
    g = numeric_grad(lambda v: ref_cross_entropy(v, y, w, label_smoothing=0.1), x)
    np.testing.assert_allclose(to_np(t.grad), g, rtol=1e-4, atol=1e-5)
    p = rng.random((6, 5))
    soft = am.cross_entropy(t, am.tensor(p.astype(np.float32), device=device), reduction="none")
    np.testing.assert_allclose(to_np(soft), ref_cross_entropy(x, p, reduction="none"), rtol=1e-5)
    with pytest.raises(IndexError, match="cross_entropy: target 7"):
        am.cross_entropy(t, am.tensor(np.array([0, 1, 7, 0, 0, 0]), device=device))


@pytest.mark.parametrize("soft", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_torch(rng, soft, reduction):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, y = make_case(rng, 8, 6, soft)
    w = rng.uniform(0.2, 2.0, 6)
    for eps in [0.0, 0.15]:
        xt = torch.tensor(x, requires_grad=True)
        expected = F.cross_entropy(xt, torch.tensor(y), weight=torch.tensor(w), reduction=reduction, label_smoothing=eps)
        expected.sum().backward()
        t = am.tensor(x, requires_grad=True)
        out = am.cross_entropy(t, am.tensor(y), weight=am.tensor(w), reduction=reduction, label_smoothing=eps)
        out.sum().backward()
        np.testing.assert_allclose(to_np(out), expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(to_np(t.grad), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
