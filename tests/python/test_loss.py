"""The losses of aimass.nn.functional (mse, l1, huber, smooth_l1, binary_cross_entropy_with_logits,
kl_div, distillation_loss) against NumPy references written out in float64: every reduction,
dtypes, non-contiguous and empty inputs, extreme values, errors, and gradients against central
finite differences for every input that has one."""
from __future__ import annotations

import numpy as np
import pytest

import aimass as am
import aimass.nn.functional as F

from conftest import LAYOUTS, NP_BF16, make_tensor, numeric_grad, to_np


# ---------------------------------------------------------------------------------------------
# NumPy references: the elementwise loss, then the reduction.




def ref_pointwise(name, x, t, delta=1.0, weight=None, pos_weight=None):
    x, t = np.asarray(x, np.float64), np.asarray(t, np.float64)
    d = x - t
    if name == "mse":
        return d * d
    if name == "l1":
        return np.abs(d)
    if name == "huber":
        return np.where(np.abs(d) <= delta, 0.5 * d * d, delta * (np.abs(d) - 0.5 * delta))
    if name == "smooth_l1":
        return np.where(np.abs(d) < delta, 0.5 * d * d / delta, np.abs(d) - 0.5 * delta)
    if name == "bce":
        log_weight = 1.0 if pos_weight is None else 1 + (np.asarray(pos_weight, np.float64) - 1) * t
        # (1 - t) x + lw softplus(-x), arranged so that hard targets do not cancel
        loss = (1 - t) * x - log_weight * np.minimum(x, 0) + log_weight * np.log1p(np.exp(-np.abs(x)))
        return loss if weight is None else loss * np.asarray(weight, np.float64)
    if name == "kl":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t == 0, 0.0, t * (np.log(np.where(t == 0, 1, t)) - x))
    if name == "kl_log":
        return np.exp(t) * (t - x)
    raise AssertionError(name)


def reduce(loss, reduction, batch=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "batchmean":
        return loss.sum() / (batch if batch is not None else loss.shape[0])
    with np.errstate(invalid="ignore"):
        return np.float64(loss.sum()) / np.float64(loss.size)


def ref_log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def ref_distillation(s, t, temperature, reduction):
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
    lp, lq = ref_log_softmax(t / temperature), ref_log_softmax(s / temperature)
    p = np.exp(lp)
    rows = temperature**2 * np.where(p == 0, 0.0, p * (lp - lq)).sum(axis=-1)
    if reduction == "none":
        return rows
    if reduction == "sum":
        return rows.sum()
    if reduction == "batchmean":
        return rows.sum() / rows.size
    return rows.sum() / s.size


# The losses under test: (name, how to make a target from rng and a shape, aimass call).
def _t_real(rng, shape):
    return rng.standard_normal(shape) * 2


def _t_prob(rng, shape):
    return rng.uniform(0.05, 1.0, shape)


def _t_logprob(rng, shape):
    return np.log(rng.uniform(0.05, 1.0, shape))


LOSSES = {
    "mse": (_t_real, lambda x, t, r: F.mse_loss(x, t, reduction=r)),
    "l1": (_t_real, lambda x, t, r: F.l1_loss(x, t, reduction=r)),
    "huber": (_t_real, lambda x, t, r: F.huber_loss(x, t, delta=0.7, reduction=r)),
    "smooth_l1": (_t_real, lambda x, t, r: F.smooth_l1_loss(x, t, beta=0.7, reduction=r)),
    "bce": (_t_prob, lambda x, t, r: F.binary_cross_entropy_with_logits(x, t, reduction=r)),
    "kl": (_t_prob, lambda x, t, r: F.kl_div(x, t, reduction=r)),
    "kl_log": (_t_logprob, lambda x, t, r: F.kl_div(x, t, reduction=r, log_target=True)),
}
DELTA = {"huber": 0.7, "smooth_l1": 0.7}


def expected(name, x, t, reduction):
    return reduce(ref_pointwise(name, x, t, delta=DELTA.get(name, 1.0)), reduction)


# ---------------------------------------------------------------------------------------------
# forward


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_matches_numpy_float64(rng, name, reduction):
    make_target, fn = LOSSES[name]
    for shape in [(7, 5), (3, 4, 6), (11,), ()]:
        x = np.asarray(rng.standard_normal(shape) * 2)
        t = np.asarray(make_target(rng, shape))
        out = fn(am.tensor(x), am.tensor(t), reduction)
        assert out.dtype == am.float64
        want = expected(name, x, t, reduction)
        assert out.shape == np.shape(want)
        np.testing.assert_allclose(to_np(out), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_float32_non_contiguous(rng, name, layout):
    make_target, fn = LOSSES[name]
    x = (rng.standard_normal((9, 13)) * 2).astype(np.float32)
    t = make_target(rng, (9, 13)).astype(np.float32)
    xt, tt = make_tensor(x, layout), make_tensor(t, LAYOUTS[(LAYOUTS.index(layout) + 1) % len(LAYOUTS)])
    for reduction in ["none", "sum", "mean"]:
        out = fn(xt, tt, reduction)
        assert out.dtype == am.float32
        np.testing.assert_allclose(to_np(out), expected(name, x, t, reduction), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", list(LOSSES))
def test_large_threaded_sum(rng, name):
    """Many blocks of the threaded reduction; float32 input, accumulated in double."""
    make_target, fn = LOSSES[name]
    x = rng.standard_normal(300_001).astype(np.float32)
    t = make_target(rng, x.shape).astype(np.float32)
    for reduction in ["sum", "mean"]:
        np.testing.assert_allclose(to_np(fn(am.tensor(x), am.tensor(t), reduction)), expected(name, x, t, reduction),
                                   rtol=1e-5)
    np.testing.assert_allclose(to_np(fn(am.tensor(x), am.tensor(t), "none")), expected(name, x, t, "none"), rtol=2e-5,
                               atol=1e-6)


@pytest.mark.parametrize("name", list(LOSSES))
def test_empty(name):
    fn = LOSSES[name][1]
    x = am.zeros((0, 4))
    assert np.isnan(to_np(fn(x, am.zeros((0, 4)), "mean")))  # as PyTorch: 0 / 0
    assert to_np(fn(x, am.zeros((0, 4)), "sum")) == 0.0
    none = fn(x, am.zeros((0, 4)), "none")
    assert none.shape == (0, 4) and none.dtype == am.float32


@pytest.mark.parametrize("dtype,tol", [(np.float16, 3e-3), ("bf16", 3e-2)])
@pytest.mark.parametrize("name", ["mse", "huber", "bce", "kl"])
def test_16_bit_floats_compute_in_float32(rng, name, dtype, tol):
    if dtype == "bf16":
        if NP_BF16 is None:
            pytest.skip("ml_dtypes not installed")
        dtype = NP_BF16
    make_target, fn = LOSSES[name]
    x = rng.standard_normal((6, 10)).astype(dtype)
    t = make_target(rng, (6, 10)).astype(dtype)
    xt = am.tensor(x, requires_grad=True)
    out = fn(xt, am.tensor(t), "mean")
    assert out.dtype == xt.dtype
    np.testing.assert_allclose(float(to_np(out).astype(np.float64)),
                               expected(name, x.astype(np.float64), t.astype(np.float64), "mean"), rtol=tol)
    out.backward()
    assert xt.grad.dtype == xt.dtype and xt.grad.shape == (6, 10)


def test_targets_as_data_take_the_input_dtype(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = rng.standard_normal((3, 4))
    want = expected("mse", x, t.astype(np.float32), "mean")
    for target in [t, t.tolist(), t.astype(np.float16).astype(np.float64)]:
        out = F.mse_loss(am.tensor(x), target)
        assert out.dtype == am.float32
        np.testing.assert_allclose(to_np(out), expected("mse", x, np.asarray(target, np.float32), "mean"), rtol=1e-6)
    # Integer data is converted too (only integer *tensors* are refused).
    out = F.l1_loss(am.tensor(x), np.ones((3, 4), np.int64), reduction="sum")
    np.testing.assert_allclose(to_np(out), np.abs(x - 1).sum(), rtol=1e-6)
    np.testing.assert_allclose(to_np(F.mse_loss(x, t)), want, rtol=1e-5)  # input as NumPy too
    # A float64 target tensor with a float32 input: computed in the input's dtype.
    assert F.mse_loss(am.tensor(x), am.tensor(t)).dtype == am.float32


def test_huber_and_smooth_l1_edges(rng):
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    t = np.zeros(7)
    for delta in [0.5, 1.0, 2.5]:
        np.testing.assert_allclose(to_np(F.huber_loss(am.tensor(x), am.tensor(t), delta=delta, reduction="none")),
                                   ref_pointwise("huber", x, t, delta=delta), rtol=1e-15)
        np.testing.assert_allclose(to_np(F.smooth_l1_loss(am.tensor(x), am.tensor(t), beta=delta, reduction="none")),
                                   ref_pointwise("smooth_l1", x, t, delta=delta), rtol=1e-15)
    # beta = 0: the l1 loss (PyTorch's definition).
    np.testing.assert_allclose(to_np(F.smooth_l1_loss(am.tensor(x), am.tensor(t), beta=0.0, reduction="none")),
                               np.abs(x), rtol=1e-15)


def test_bce_weight_and_pos_weight(rng):
    x = rng.standard_normal((5, 3)) * 3
    t = (rng.random((5, 3)) < 0.5).astype(np.float64)
    pw = rng.uniform(0.5, 3.0, 3)
    for weight in [None, rng.uniform(0.1, 2, 3), rng.uniform(0.1, 2, (5, 1)), rng.uniform(0.1, 2, (5, 3)), 0.5]:
        for pos_weight in [None, pw, np.full((1, 3), 2.0)]:
            for reduction in ["none", "sum", "mean"]:
                out = F.binary_cross_entropy_with_logits(am.tensor(x), am.tensor(t), weight=weight,
                                                         pos_weight=pos_weight, reduction=reduction)
                want = reduce(ref_pointwise("bce", x, t, weight=weight, pos_weight=pos_weight), reduction)
                np.testing.assert_allclose(to_np(out), want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_extreme_logits(dtype):
    x = np.array([-1e4, -50.0, -20.0, 0.0, 20.0, 50.0, 1e4], dtype)
    for target in [0.0, 1.0, 0.3]:
        t = np.full_like(x, target)
        xt = am.tensor(x, requires_grad=True)
        out = F.binary_cross_entropy_with_logits(xt, am.tensor(t), reduction="none")
        want = ref_pointwise("bce", x.astype(np.float64), t.astype(np.float64))
        assert np.isfinite(to_np(out)).all()
        np.testing.assert_allclose(to_np(out), want, rtol=1e-6, atol=1e-30)  # tiny losses keep their digits
        out.sum().backward()
        x64, t64 = x.astype(np.float64), t.astype(np.float64)
        with np.errstate(over="ignore"):
            # sigmoid(x) - t, without cancelling the tiny gradients of confident predictions
            grad = np.where(x64 >= 0, (1 - t64) - 1 / (1 + np.exp(x64)), 1 / (1 + np.exp(-x64)) - t64)
        np.testing.assert_allclose(to_np(xt.grad), grad, rtol=1e-6, atol=1e-30)


def test_kl_div_reductions_and_zero_targets(rng):
    logq = ref_log_softmax(rng.standard_normal((4, 6)))
    p = np.exp(ref_log_softmax(rng.standard_normal((4, 6))))
    p[0, 2] = 0.0  # 0 log 0 = 0
    for reduction in ["none", "sum", "mean", "batchmean"]:
        out = F.kl_div(am.tensor(logq), am.tensor(p), reduction=reduction)
        np.testing.assert_allclose(to_np(out), reduce(ref_pointwise("kl", logq, p), reduction), rtol=1e-12, atol=1e-15)
        out_log = F.kl_div(am.tensor(logq), am.tensor(np.log(p + 1e-300)), reduction=reduction, log_target=True)
        np.testing.assert_allclose(to_np(out_log), to_np(out), rtol=1e-9, atol=1e-12)
    # batchmean of a 3-d input divides by its first dim, as PyTorch.
    x3, t3 = rng.standard_normal((2, 3, 4)), rng.uniform(0.1, 1, (2, 3, 4))
    np.testing.assert_allclose(to_np(F.kl_div(am.tensor(x3), am.tensor(t3), reduction="batchmean")),
                               ref_pointwise("kl", x3, t3).sum() / 2, rtol=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.5])
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "mean", "none"])
def test_distillation_matches_numpy(rng, temperature, reduction):
    for shape in [(6, 10), (2, 3, 7), (5,)]:
        s, t = rng.standard_normal(shape) * 3, rng.standard_normal(shape) * 3
        out = F.distillation_loss(am.tensor(s), am.tensor(t), temperature=temperature, reduction=reduction)
        want = ref_distillation(s, t, temperature, reduction)
        assert out.shape == np.shape(want)
        np.testing.assert_allclose(to_np(out), want, rtol=1e-11, atol=1e-13)
    # float32, non-contiguous, and the kl_div recipe it stands for.
    s, t = (rng.standard_normal((8, 33)) * 3).astype(np.float32), (rng.standard_normal((8, 33)) * 3).astype(np.float32)
    out = F.distillation_loss(make_tensor(s, "transposed"), make_tensor(t, "strided"), temperature, reduction)
    assert out.dtype == am.float32
    np.testing.assert_allclose(to_np(out), ref_distillation(s, t, temperature, reduction), rtol=2e-5, atol=1e-6)
    if reduction != "none":
        recipe = F.kl_div(am.log_softmax(am.tensor(s) / temperature, axis=-1),
                          am.softmax(am.tensor(t) / temperature, axis=-1), reduction=reduction) * temperature**2
        np.testing.assert_allclose(to_np(out), to_np(recipe), rtol=2e-5, atol=1e-6)


def test_distillation_edges():
    # Identical logits: zero loss and zero gradients; extreme logits stay finite.
    x = np.array([[1e4, -1e4, 0.0], [3.0, 3.0, 3.0]])
    s = am.tensor(x, requires_grad=True)
    out = F.distillation_loss(s, am.tensor(x), temperature=2.0)
    np.testing.assert_allclose(to_np(out), 0.0, atol=1e-12)
    out.backward()
    np.testing.assert_allclose(to_np(s.grad), 0.0, atol=1e-12)
    far = F.distillation_loss(am.tensor(x[:, ::-1].copy()), am.tensor(x), reduction="none")
    assert np.isfinite(to_np(far)).all()
    empty = F.distillation_loss(am.zeros((0, 4)), am.zeros((0, 4)))
    assert np.isnan(to_np(empty))
    assert to_np(F.distillation_loss(am.zeros((0, 4)), am.zeros((0, 4)), reduction="sum")) == 0.0


# ---------------------------------------------------------------------------------------------
# errors


def test_errors():
    x = am.zeros((3, 4))
    for fn, op in [(F.mse_loss, "mse_loss"), (F.l1_loss, "l1_loss"), (F.huber_loss, "huber_loss"),
                   (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"), (F.kl_div, "kl_div")]:
        with pytest.raises(ValueError, match=rf"{op}: input .*\(3, 4\).* and target .*\(3, 1\).* must have the same shape"):
            fn(x, am.zeros((3, 1)))
        with pytest.raises(ValueError, match=rf"{op}: input .*\(3, 4\).* and target .*\(4,\)"):
            fn(x, [0.0, 1.0, 2.0, 3.0])
        with pytest.raises(TypeError, match=rf"{op}: target must be a floating tensor, got int64"):
            fn(x, am.zeros((3, 4), dtype=am.int64))
        with pytest.raises(TypeError, match=rf"{op}: input must be a floating tensor, got int32"):
            fn(am.zeros((3, 4), dtype=am.int32), x)
        with pytest.raises(ValueError, match=rf"{op}: reduction must be 'none', 'mean'"):
            fn(x, x, reduction="avg")
    for fn, op in [(F.mse_loss, "mse_loss"), (F.l1_loss, "l1_loss")]:
        with pytest.raises(ValueError, match=rf"{op}: reduction must be 'none', 'mean' or 'sum', got 'batchmean'"):
            fn(x, x, reduction="batchmean")
    for delta in [0.0, -1.0, float("nan")]:
        with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
            F.huber_loss(x, x, delta=delta)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: pos_weight .*\(3,\).* does not broadcast"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=am.ones((3,)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: weight .*\(2, 4\).* does not broadcast"):
        F.binary_cross_entropy_with_logits(x, x, weight=am.ones((2, 4)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: weight .*\(1, 3, 4\)"):
        F.binary_cross_entropy_with_logits(x, x, weight=am.ones((1, 3, 4)))  # would grow the result
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: weight must be a floating tensor"):
        F.binary_cross_entropy_with_logits(x, x, weight=am.ones((4,), dtype=am.int32))
    with pytest.raises(ValueError, match="kl_div: reduction must be 'none', 'mean', 'sum' or 'batchmean', got 'x'"):
        F.kl_div(x, x, reduction="x")
    for temperature in [0.0, -2.0, float("inf"), float("nan")]:
        with pytest.raises(ValueError, match="distillation_loss: temperature must be positive"):
            F.distillation_loss(x, x, temperature=temperature)
    with pytest.raises(ValueError, match=r"distillation_loss: student logits .*\(3, 4\).* and teacher logits .*\(3, 5\)"):
        F.distillation_loss(x, am.zeros((3, 5)))
    with pytest.raises(TypeError, match="distillation_loss: teacher logits must be a floating tensor"):
        F.distillation_loss(x, am.zeros((3, 4), dtype=am.int64))
    with pytest.raises(ValueError, match="distillation_loss: logits must have a class axis"):
        F.distillation_loss(am.tensor(1.0), am.tensor(1.0))
    with pytest.raises(ValueError, match="distillation_loss: logits .* have no classes"):
        F.distillation_loss(am.zeros((2, 0)), am.zeros((2, 0)))
    with pytest.raises(ValueError, match="distillation_loss: reduction must be"):
        F.distillation_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: reduction must be 'none', 'mean' or 'sum', got 'batchmean'"):
        F.cross_entropy(x, [0, 1, 2], reduction="batchmean")


# ---------------------------------------------------------------------------------------------
# gradients



def _away_from_kinks(name, x, t):
    """Keep |x - t| off the points where l1 / huber are not differentiable."""
    if name in ("l1", "huber", "smooth_l1"):
        d = x - t
        bad = (np.abs(d) < 0.05) | (np.abs(np.abs(d) - 0.7) < 0.05)
        x = np.where(bad, x + 0.2, x)
    return x


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_matches_finite_differences(rng, name, reduction):
    make_target, fn = LOSSES[name]
    shape = (4, 5)
    t = make_target(rng, shape)
    x = _away_from_kinks(name, rng.standard_normal(shape) * 2, t)
    upstream = rng.uniform(0.5, 1.5, shape) if reduction == "none" else 1.3
    has_target_grad = name != "bce"

    def f(xv, tv):
        return float((np.asarray(expected(name, xv, tv, reduction)) * upstream).sum())

    xt, tt = am.tensor(x, requires_grad=True), am.tensor(t, requires_grad=True)
    (fn(xt, tt, reduction) * am.tensor(np.asarray(upstream, np.float64))).sum().backward()
    np.testing.assert_allclose(to_np(xt.grad), numeric_grad(lambda v: f(v, t), x), rtol=1e-6, atol=1e-8)
    if has_target_grad:
        np.testing.assert_allclose(to_np(tt.grad), numeric_grad(lambda v: f(x, v), t), rtol=1e-6, atol=1e-8)
    else:
        assert tt.grad is None


def test_bce_gradient_with_weights(rng):
    x = rng.standard_normal((4, 3)) * 2
    t = rng.random((4, 3))
    w, pw = rng.uniform(0.2, 2, (4, 1)), rng.uniform(0.5, 3, 3)
    for reduction in ["mean", "sum"]:
        xt = am.tensor(x, requires_grad=True)
        F.binary_cross_entropy_with_logits(xt, am.tensor(t), weight=am.tensor(w), pos_weight=am.tensor(pw),
                                           reduction=reduction).backward()
        g = numeric_grad(lambda v: reduce(ref_pointwise("bce", v, t, weight=w, pos_weight=pw), reduction), x)
        np.testing.assert_allclose(to_np(xt.grad), g, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "mean", "none"])
def test_distillation_gradient(rng, reduction):
    s, t = rng.standard_normal((3, 2, 5)) * 2, rng.standard_normal((3, 2, 5)) * 2
    temperature = 2.5
    upstream = rng.uniform(0.5, 1.5, (3, 2)) if reduction == "none" else 0.8

    def f(sv, tv):
        return float((np.asarray(ref_distillation(sv, tv, temperature, reduction)) * upstream).sum())

    st, tt = am.tensor(s, requires_grad=True), am.tensor(t, requires_grad=True)
    out = F.distillation_loss(st, tt, temperature=temperature, reduction=reduction)
    (out * am.tensor(np.asarray(upstream, np.float64))).sum().backward()
    np.testing.assert_allclose(to_np(st.grad), numeric_grad(lambda v: f(v, t), s), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(to_np(tt.grad), numeric_grad(lambda v: f(s, v), t), rtol=1e-6, atol=1e-8)
    # A teacher that needs no gradient gets none.
    st2 = am.tensor(s, requires_grad=True)
    teacher = am.tensor(t)
    F.distillation_loss(st2, teacher, temperature=temperature).backward()
    assert teacher.grad is None
    np.testing.assert_allclose(to_np(st2.grad), numeric_grad(lambda v: ref_distillation(v, t, temperature, "batchmean"), s),
                               rtol=1e-6, atol=1e-8)


def test_gradient_flags_and_saved_tensors(rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert not F.mse_loss(am.tensor(x), am.tensor(t)).requires_grad
    target = am.tensor(t)
    xt = am.tensor(x, requires_grad=True)
    out = F.mse_loss(xt, target)
    assert out.requires_grad
    out.backward()
    assert target.grad is None
    np.testing.assert_allclose(to_np(xt.grad), 2 * (x - t) / x.size, rtol=1e-12)
    # Only the target requires grad.
    tt = am.tensor(t, requires_grad=True)
    F.l1_loss(am.tensor(x), tt, reduction="sum").backward()
    np.testing.assert_allclose(to_np(tt.grad), -np.sign(x - t), rtol=1e-12)
    # A target changed in place before the backward is caught.
    target2 = am.tensor(t)
    out2 = F.huber_loss(am.tensor(x, requires_grad=True), target2)
    target2[0, 0] = 5.0
    with pytest.raises(RuntimeError, match="in-place"):
        out2.backward()
    # Backward twice without retain_graph.
    out3 = F.kl_div(am.tensor(x, requires_grad=True), am.tensor(np.abs(t)))
    out3.backward()
    with pytest.raises(RuntimeError, match="second time"):
        out3.backward()


# ---------------------------------------------------------------------------------------------
# devices


@pytest.mark.parametrize("name", list(LOSSES))
def test_on_device(rng, device, name):
    make_target, fn = LOSSES[name]
    x = (rng.standard_normal((37, 29)) * 2).astype(np.float32)
    t = make_target(rng, x.shape).astype(np.float32)
    for reduction in ["none", "mean"]:
        xt = am.tensor(x, device=device, requires_grad=True)
        out = fn(xt, am.tensor(t, device=device), reduction)
        assert out.device.type == device
        np.testing.assert_allclose(to_np(out), expected(name, x, t, reduction), rtol=2e-5, atol=2e-6)
        out.sum().backward()
        ref = am.tensor(x.astype(np.float64), requires_grad=True)
        fn(ref, am.tensor(t.astype(np.float64)), reduction).sum().backward()
        np.testing.assert_allclose(to_np(xt.grad), to_np(ref.grad), rtol=1e-4, atol=1e-6)
