"""Optimizers against the published algorithms written in NumPy, step by step; parameter groups,
state_dict round trips, float32 master weights for bfloat16, clipping, GradScaler, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass as am

from conftest import NP_BF16, to_np

SHAPES = [(7,), (3, 5), (16, 33)]
STEPS = 60


# ------------------------------------------------------------------------------------------
# The references: one parameter's update, as the papers / torch.optim (single-tensor) write it.


def ref_sgd(p, g, st, t, lr, momentum=0, dampening=0, nesterov=False, weight_decay=0):
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        if "buf" not in st:
            st["buf"] = g.copy()
        else:
            st["buf"] = momentum * st["buf"] + (1 - dampening) * g
        g = g + momentum * st["buf"] if nesterov else st["buf"]
    return p - lr * g


def ref_adam(p, g, st, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, decoupled=False):
    b1, b2 = betas
    if decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    st["m"] = b1 * st.get("m", np.zeros_like(p)) + (1 - b1) * g
    st["v"] = b2 * st.get("v", np.zeros_like(p)) + (1 - b2) * g * g
    v = st["v"]
    if amsgrad:
        st["vmax"] = np.maximum(st.get("vmax", np.zeros_like(p)), v)
        v = st["vmax"]
    bc1, bc2 = 1 - b1**t, 1 - b2**t
    return p - (lr / bc1) * st["m"] / (np.sqrt(v) / math.sqrt(bc2) + eps)


def ref_adamw(p, g, st, t, lr, weight_decay=1e-2, **kw):
    return ref_adam(p, g, st, t, lr, weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(p, g, st, t, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
    if weight_decay:
        g = g + weight_decay * p
    st["sq"] = alpha * st.get("sq", np.zeros_like(p)) + (1 - alpha) * g * g
    if centered:
        st["ga"] = alpha * st.get("ga", np.zeros_like(p)) + (1 - alpha) * g
        avg = np.sqrt(st["sq"] - st["ga"] * st["ga"]) + eps
    else:
        avg = np.sqrt(st["sq"]) + eps
    if momentum > 0:
        st["buf"] = momentum * st.get("buf", np.zeros_like(p)) + g / avg
        return p - lr * st["buf"]
    return p - lr * g / avg


def ref_adagrad(p, g, st, t, lr, lr_decay=0, weight_decay=0, eps=1e-10, initial_accumulator_value=0):
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    st["sum"] = st.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
    return p - clr * g / (np.sqrt(st["sum"]) + eps)


def ref_lion(p, g, st, t, lr, betas=(0.9, 0.99), weight_decay=0):
    b1, b2 = betas
    m = st.get("m", np.zeros_like(p))
    p = p * (1 - lr * weight_decay) - lr * np.sign(b1 * m + (1 - b1) * g)
    st["m"] = b2 * m + (1 - b2) * g
    return p


CASES = [
    ("SGD", ref_sgd, dict(lr=0.05)),
    ("SGD", ref_sgd, dict(lr=0.05, momentum=0.9)),
    ("SGD", ref_sgd, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("Adam", ref_adam, dict(lr=0.01)),
    ("Adam", ref_adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", ref_adam, dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", ref_adamw, dict(lr=0.01)),
    ("AdamW", ref_adamw, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, eps=1e-4)),
    ("Adagrad", ref_adagrad, dict(lr=0.1)),
    ("Adagrad", ref_adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("Lion", ref_lion, dict(lr=0.01)),
    ("Lion", ref_lion, dict(lr=0.01, betas=(0.95, 0.98), weight_decay=0.1)),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, _, kw in CASES]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}


def make_params(rng, dtype, device="cpu", shapes=SHAPES):
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return values, [am.tensor(v, device=device, requires_grad=True) for v in values]


def set_grads(params, grads, device="cpu"):
    for p, g in zip(params, grads):
        p.grad = am.tensor(g, device=device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,ref,kw", CASES, ids=CASE_IDS)
def test_matches_reference_step_by_step(rng, device, dtype, name, ref, kw):
    values, params = make_params(rng, dtype, device)
    opt = getattr(am.optim, name)(params, **kw)
    states = [{} for _ in params]
    for t in range(1, STEPS + 1):
        grads = [rng.standard_normal(v.shape).astype(dtype) for v in values]
        set_grads(params, grads, device)
        opt.step()
        values = [ref(v, g, st, t, **kw) for v, g, st in zip(values, grads, states)]
        for p, v in zip(params, values):
            assert v.dtype == dtype and p.dtype == am.tensor(v).dtype
            np.testing.assert_allclose(to_np(p), v, err_msg=f"step {t}", **TOL[dtype])


@pytest.mark.parametrize("name,ref,kw", [CASES[5], CASES[1], CASES[12]], ids=["Adam", "SGD", "RMSprop"])
def test_large_parameters_use_every_chunk(rng, name, ref, kw):
    # More than one 256K-element chunk, and a parameter that is not a multiple of the SIMD width.
    values, params = make_params(rng, np.float32, shapes=[(600_003,), (5,)])
    opt = getattr(am.optim, name)(params, **kw)
    states = [{}, {}]
    for t in range(1, 6):
        grads = [rng.standard_normal(v.shape).astype(np.float32) for v in values]
        set_grads(params, grads)
        opt.step()
        values = [ref(v, g, st, t, **kw) for v, g, st in zip(values, grads, states)]
    for p, v in zip(params, values):
        np.testing.assert_allclose(to_np(p), v, rtol=2e-5, atol=2e-6)


def test_parameters_without_grad_are_left_alone(rng):
    values, params = make_params(rng, np.float64)
    opt = am.optim.Adam(params, lr=0.1)
    params[0].grad = am.tensor(np.ones(values[0].shape))
    opt.step()
    np.testing.assert_array_equal(to_np(params[1]), values[1])
    np.testing.assert_array_equal(to_np(params[2]), values[2])
    assert opt.state_dict()["state"].keys() == {0}
    np.testing.assert_allclose(to_np(params[0]), values[0] - 0.1, rtol=1e-7)  # Adam's first step: lr * sign


def test_zero_grad_and_version(rng):
    _, params = make_params(rng, np.float32)
    opt = am.optim.SGD(params, lr=0.1)
    set_grads(params, [np.ones(p.shape, np.float32) for p in params])
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    opt.step()  # no grads: nothing happens


def test_step_after_backward_and_non_contiguous_grad(rng):
    w0 = rng.standard_normal((4, 3))
    w = am.tensor(w0, requires_grad=True)
    opt = am.optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(to_np(w), w0 - 0.5 * 2 * w0, rtol=1e-12)
    g = rng.standard_normal((3, 4))
    w.grad = am.tensor(g).transpose(0, 1)  # a strided gradient
    before = to_np(w)
    opt.step()
    np.testing.assert_allclose(to_np(w), before - 0.5 * g.T, rtol=1e-12)


def test_param_groups_have_their_own_options_and_lr_reaches_native(rng):
    values, params = make_params(rng, np.float64)
    opt = am.optim.SGD([{"params": params[:2], "lr": 0.1, "momentum": 0.9}, {"params": params[2:]}],
                       lr=0.01, weight_decay=0.001)
    assert len(opt.param_groups) == 2
    g0, g1 = opt.param_groups
    assert g0["lr"] == 0.1 and g0["momentum"] == 0.9 and g0["weight_decay"] == 0.001
    assert g1["lr"] == 0.01 and g1["momentum"] == 0 and g1["nesterov"] is False
    assert [id(p) for p in g1["params"]] == [id(params[2])] or len(g1["params"]) == 1
    assert set(g0) == {"params", "lr", "momentum", "dampening", "nesterov", "weight_decay"}
    states = [{} for _ in params]
    opts = [dict(lr=0.1, momentum=0.9, weight_decay=0.001)] * 2 + [dict(lr=0.01, weight_decay=0.001)]
    for t in range(1, 31):
        if t == 15:
            for group in opt.param_groups:
                group["lr"] *= 0.5
            opts = [dict(o, lr=o["lr"] * 0.5) for o in opts]
            assert opt.lr(0) == 0.05 and opt.lr(1) == 0.005
        grads = [rng.standard_normal(v.shape) for v in values]
        set_grads(params, grads)
        opt.step()
        values = [ref_sgd(v, g, st, t, **o) for v, g, st, o in zip(values, grads, states, opts)]
    for p, v in zip(params, values):
        np.testing.assert_allclose(to_np(p), v, rtol=1e-11, atol=1e-13)


def test_add_param_group_and_betas_in_groups(rng):
    values, params = make_params(rng, np.float64)
    opt = am.optim.Adam(params[:1], lr=0.01)
    opt.add_param_group({"params": params[1:], "betas": (0.5, 0.6), "amsgrad": True})
    assert opt.param_groups[1]["betas"] == (0.5, 0.6) and opt.param_groups[1]["amsgrad"] is True
    assert opt.param_groups[1]["lr"] == 0.01
    opt.param_groups[0]["betas"] = (0.7, 0.75)
    assert opt.param_groups[0]["betas"] == (0.7, 0.75)
    assert opt.defaults == {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", dict(amsgrad=True)),
                                     ("AdamW", {}), ("RMSprop", dict(momentum=0.5, centered=True)),
                                     ("Adagrad", dict(lr_decay=0.1)), ("Lion", {})])
def test_state_dict_round_trip_resumes_exactly(rng, name, kw):
    values, params = make_params(rng, np.float32)
    cls = getattr(am.optim, name)
    opt = cls(params, **kw)
    grads = [[rng.standard_normal(v.shape).astype(np.float32) for v in values] for _ in range(20)]
    for gs in grads[:10]:
        set_grads(params, gs)
        opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert all(isinstance(a, (np.ndarray, int)) for st in sd["state"].values() for a in st.values())
    # A second optimizer, on copies of the parameters, resumes from the saved state.
    params2 = [am.tensor(to_np(p), requires_grad=True) for p in params]
    opt2 = cls(params2, lr=123.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for a, b in zip(opt.state_dict()["state"].values(), opt2.state_dict()["state"].values()):
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    for gs in grads[10:]:
        set_grads(params, gs)
        set_grads(params2, gs)
        opt.step()
        opt2.step()
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(to_np(p), to_np(q))


def test_load_state_dict_errors(rng):
    _, params = make_params(rng, np.float32)
    opt = am.optim.Adam(params)
    set_grads(params, [np.ones(p.shape, np.float32) for p in params])
    opt.step()
    sd = opt.state_dict()
    other = am.optim.Adam(params[:2])
    with pytest.raises(ValueError, match="Adam.load_state_dict: group 0 has 3 parameters"):
        other.load_state_dict(sd)
    sd["state"][0]["exp_avg"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: exp_avg of parameter 0 .* but the parameter is"):
        am.optim.Adam(params).load_state_dict(sd)


@pytest.mark.skipif(NP_BF16 is None, reason="ml_dtypes is not installed")
@pytest.mark.parametrize("name,ref,kw", [CASES[6], CASES[2]], ids=["Adam", "SGD"])
def test_bfloat16_params_keep_float32_master_weights(rng, name, ref, kw):
    master = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    params = [am.tensor(m.astype(NP_BF16), requires_grad=True) for m in master]
    master = [m.astype(NP_BF16).astype(np.float32) for m in master]  # the master starts from the bf16 value
    opt = getattr(am.optim, name)(params, **kw)
    states = [{} for _ in params]
    for t in range(1, 41):
        grads = [rng.standard_normal(m.shape).astype(NP_BF16) for m in master]
        set_grads(params, grads)
        opt.step()
        master = [ref(m, g.astype(np.float32), st, t, **kw) for m, g, st in zip(master, grads, states)]
    sd = opt.state_dict()["state"]
    for i, (p, m) in enumerate(zip(params, master)):
        assert p.dtype == am.bfloat16
        np.testing.assert_allclose(sd[i]["master"], m, rtol=2e-5, atol=2e-6)
        assert sd[i]["master"].dtype == np.float32
        # The parameter is its master weight rounded, every step (not a bf16 accumulation).
        np.testing.assert_array_equal(to_np(p).astype(np.float32), sd[i]["master"].astype(NP_BF16).astype(np.float32))


def test_tiny_updates_survive_in_the_master_weights():
    # 1 + 1e-4 is 1 in bfloat16: without master weights 100 such steps would be lost.
    p = am.tensor(np.ones(4, NP_BF16), requires_grad=True)
    opt = am.optim.SGD([p], lr=1e-4)
    for _ in range(100):
        p.grad = am.tensor(-np.ones(4, NP_BF16))
        opt.step()
    np.testing.assert_allclose(opt.state_dict()["state"][0]["master"], 1.01, rtol=1e-5)
    np.testing.assert_array_equal(to_np(p).astype(np.float32), np.float32(1.01).astype(NP_BF16).astype(np.float32))


# ------------------------------------------------------------------------------------------ clipping


def test_clip_grad_norm(rng, device):
    _, params = make_params(rng, np.float32, device)
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    set_grads(params, grads, device)
    norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    assert am.optim.clip_grad_norm_(params, 1e9) == pytest.approx(norm, rel=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(to_np(p.grad), g)  # under the limit: untouched
    total = am.optim.clip_grad_norm_(params, 2.0)
    assert total == pytest.approx(norm, rel=1e-12)
    coef = 2.0 / (norm + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(to_np(p.grad), g * coef, rtol=1e-6)
    assert np.sqrt(sum((to_np(p.grad).astype(np.float64) ** 2).sum() for p in params)) == pytest.approx(2.0, rel=1e-5)


def test_clip_grad_norm_skips_missing_grads_and_float64(rng):
    a = am.tensor(np.array([3.0, 4.0]), requires_grad=True)
    b = am.tensor(np.array([1.0]), requires_grad=True)
    a.grad = am.tensor(np.array([3.0, 4.0]))
    assert am.optim.clip_grad_norm_([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(to_np(a.grad), [0.6, 0.8], rtol=1e-6)
    assert b.grad is None
    assert am.optim.clip_grad_norm_([b], 1.0) == 0.0
    assert am.optim.clip_grad_norm_(a, 10.0) == pytest.approx(1.0, rel=1e-6)  # one tensor
    with pytest.raises(ValueError, match="clip_grad_norm_: only norm_type=2"):
        am.optim.clip_grad_norm_([a], 1.0, norm_type=1)


def test_clip_grad_value(rng, device):
    _, params = make_params(rng, np.float64, device)
    grads = [rng.standard_normal(p.shape) * 3 for p in params]
    set_grads(params, grads, device)
    am.optim.clip_grad_value_(params, 0.5)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(to_np(p.grad), np.clip(g, -0.5, 0.5))
    with pytest.raises(ValueError, match="clip_grad_value_: clip_value must be >= 0"):
        am.optim.clip_grad_value_(params, -1.0)


# ------------------------------------------------------------------------------------------ GradScaler


def test_grad_scaler_unscales_steps_and_grows(rng):
    values, params = make_params(rng, np.float32)
    opt = am.optim.SGD(params, lr=0.1)
    scaler = am.optim.GradScaler(init_scale=1024.0, growth_interval=3)
    x = am.tensor(np.float32(2.0), requires_grad=True)
    np.testing.assert_allclose(to_np(scaler.scale(x * 1.0)), 2048.0)
    for step in range(3):
        grads = [rng.standard_normal(v.shape).astype(np.float32) for v in values]
        set_grads(params, [g * 1024.0 for g in grads])
        assert scaler.step(opt) is True
        values = [v - 0.1 * g for v, g in zip(values, grads)]
        for p, v in zip(params, values):
            np.testing.assert_allclose(to_np(p), v, rtol=1e-6, atol=1e-7)
        scaler.update()
    assert scaler.get_scale() == 2048.0  # three clean steps at growth_interval=3


def test_grad_scaler_skips_step_on_inf_and_backs_off(rng):
    values, params = make_params(rng, np.float32)
    opt = am.optim.Adam(params)
    scaler = am.optim.GradScaler()
    grads = [np.ones(v.shape, np.float32) for v in values]
    grads[1][0, 0] = np.inf
    set_grads(params, grads)
    assert scaler.step(opt) is False
    scaler.update()
    assert scaler.get_scale() == 32768.0
    for p, v in zip(params, values):
        np.testing.assert_array_equal(to_np(p), v)  # untouched
    assert opt.state_dict()["state"] == {}
    grads[1][0, 0] = np.nan
    set_grads(params, grads)
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="unscale_: already called"):
        scaler.unscale_(opt)
    assert scaler.step(opt) is False
    scaler.update()
    assert scaler.get_scale() == 16384.0
    sd = scaler.state_dict()
    other = am.optim.GradScaler()
    other.load_state_dict(sd)
    assert other.get_scale() == 16384.0 and other.state_dict() == sd
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        other.update()


@pytest.mark.skipif(NP_BF16 is None, reason="ml_dtypes is not installed")
def test_grad_scaler_with_float16_params_unscales_in_float32():
    p = am.tensor(np.ones(3, np.float16), requires_grad=True)
    opt = am.optim.SGD([p], lr=1024.0)
    scaler = am.optim.GradScaler(init_scale=2.0**16)
    p.grad = am.tensor(np.full(3, 2.0**-10, np.float16))  # a true gradient of 2^-26, below float16's range
    scaler.unscale_(opt)
    assert p.grad.dtype == am.float32
    np.testing.assert_array_equal(to_np(p.grad), np.full(3, 2.0**-26, np.float32))
    assert scaler.step(opt) is True
    np.testing.assert_array_equal(opt.state_dict()["state"][0]["master"], np.full(3, 1 - 2.0**-16, np.float32))


def test_grad_scaler_disabled_and_errors():
    scaler = am.optim.GradScaler(enabled=False)
    x = am.tensor(np.float32(3.0))
    assert scaler.scale(x) is x and scaler.get_scale() == 1.0
    with pytest.raises(ValueError, match="GradScaler: growth_factor must be > 1"):
        am.optim.GradScaler(growth_factor=0.5)
    with pytest.raises(ValueError, match="GradScaler: init_scale"):
        am.optim.GradScaler(init_scale=-1.0)


# ------------------------------------------------------------------------------------------ errors


def test_errors_name_the_optimizer(rng):
    p = am.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=r"Adam: invalid lr -0.1 \(expected lr >= 0\)"):
        am.optim.Adam([p], lr=-0.1)
    with pytest.raises(ValueError, match=r"AdamW: invalid beta1 1 \(expected 0 <= beta1 < 1\)"):
        am.optim.AdamW([p], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match=r"Lion: invalid beta2 -0.5"):
        am.optim.Lion([p], betas=(0.9, -0.5))
    with pytest.raises(ValueError, match="Adam: betas must be a pair"):
        am.optim.Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="SGD: nesterov momentum needs momentum > 0 and dampening == 0"):
        am.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="RMSprop: invalid eps"):
        am.optim.RMSprop([p], eps=-1.0)
    with pytest.raises(ValueError, match="Adagrad: invalid lr_decay"):
        am.optim.Adagrad([p], lr_decay=-1.0)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        am.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        am.optim.Adam(iter([]))
    with pytest.raises(TypeError, match=r"SGD: parameter 0 is int64 \(3,\) on cpu; only floating tensors"):
        am.optim.SGD([am.tensor(np.arange(3))], lr=0.1)
    with pytest.raises(ValueError, match="RMSprop: parameter 0 .* is not a leaf tensor"):
        am.optim.RMSprop([p * 2.0])
    with pytest.raises(TypeError, match="Adam: parameter 1 is a ndarray, not a Tensor"):
        am.optim.Adam([p, np.ones(3)])
    with pytest.raises(TypeError, match="Adam: params must be an iterable"):
        am.optim.Adam(p)
    with pytest.raises(ValueError, match="Adam: some parameters appear more than once"):
        am.optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="SGD: unknown option 'betas'"):
        am.optim.SGD([{"params": [p], "betas": (0.9, 0.9)}], lr=0.1)
    opt = am.optim.Adam([p])
    with pytest.raises(ValueError, match="Adam: invalid lr -1"):
        opt.param_groups[0]["lr"] = -1.0
    assert opt.param_groups[0]["lr"] == 1e-3  # unchanged
    with pytest.raises(ValueError, match="Adam: invalid lr"):
        opt.set_lr(-2.0)


def test_native_optimizer_is_the_python_object(rng):
    _, params = make_params(rng, np.float32)
    opt = am.optim.AdamW(params)
    assert isinstance(opt, am._core.optim.Optimizer) and isinstance(opt, am._core.optim.Adam)
    assert opt.name == "AdamW" and opt.num_groups == 1 and len(opt.params(0)) == 3
    opt.set_lr(0.5)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.lr(0) == 0.5


def test_empty_and_strided_parameters(rng):
    empty = am.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    base = rng.standard_normal((5, 4))
    view = am.tensor(base.copy()).T.requires_grad_()  # a transposed leaf: updated through a copy
    opt = am.optim.Adam([empty, view], lr=0.1)
    empty.grad = am.tensor(np.zeros((0, 3), np.float32))
    g = rng.standard_normal((4, 5))
    view.grad = am.tensor(g)
    opt.step()
    st = {}
    np.testing.assert_allclose(to_np(view), ref_adam(base.T, g, st, 1, 0.1), rtol=1e-12)
    assert empty.shape == (0, 3) and opt.state_dict()["state"][0]["exp_avg"].shape == (0, 3)
    assert am.optim.clip_grad_norm_([empty], 1.0) == 0.0
