"""LR schedules against their closed forms and against torch.optim.lr_scheduler's recursive
(chainable) formulas written in NumPy; OneCycleLR's momentum; ReduceLROnPlateau; state; errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass as am

S = am.optim.lr_scheduler
EPOCHS = 40


def make_opt(lrs=(0.1,), cls=am.optim.SGD, **kw):
    groups = [{"params": [am.tensor(np.ones(2), requires_grad=True)], "lr": lr} for lr in lrs]
    return cls(groups, **kw)


def run(sched, opt, epochs=EPOCHS):
    """The lr of every group at epochs 0..epochs-1 (epoch 0 is set by the constructor)."""
    out = []
    for e in range(epochs):
        if e:
            sched.step()
        out.append([g["lr"] for g in opt.param_groups])
        assert sched.get_last_lr() == out[-1]
        assert sched.last_epoch == e
    return np.array(out)


def chain(base, epochs, update):
    """PyTorch's recursive form: lr_e = update(lr_{e-1}, e), from lr_0 = update(base, 0)."""
    lrs, lr = [], base
    for e in range(epochs):
        lr = update(lr, e)
        lrs.append(lr)
    return np.array(lrs)


BASES = (0.1, 0.03)


def test_step_lr():
    opt = make_opt(BASES)
    got = run(S.StepLR(opt, step_size=7, gamma=0.5), opt)
    e = np.arange(EPOCHS)
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:, g], base * 0.5 ** (e // 7), rtol=1e-15)
        np.testing.assert_allclose(got[:, g], chain(base, EPOCHS, lambda lr, e: lr * 0.5 if e and e % 7 == 0 else lr),
                                   rtol=1e-13)


def test_multistep_lr():
    opt = make_opt(BASES)
    got = run(S.MultiStepLR(opt, milestones=[25, 5, 12, 12], gamma=0.3), opt)
    e = np.arange(EPOCHS)
    passed = (e[:, None] >= np.array([5, 12, 12, 25])[None, :]).sum(1)
    counts = {5: 1, 12: 2, 25: 1}
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:, g], base * 0.3**passed, rtol=1e-15)
        np.testing.assert_allclose(got[:, g], chain(base, EPOCHS, lambda lr, e: lr * 0.3 ** counts.get(e, 0)),
                                   rtol=1e-13)


def test_exponential_lr():
    opt = make_opt(BASES)
    got = run(S.ExponentialLR(opt, gamma=0.9), opt)
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:, g], base * 0.9 ** np.arange(EPOCHS), rtol=1e-14)
        np.testing.assert_allclose(got[:, g], chain(base, EPOCHS, lambda lr, e: lr * 0.9 if e else lr), rtol=1e-12)


def test_cosine_annealing_lr():
    T, eta_min = 10, 0.001
    opt = make_opt(BASES)
    got = run(S.CosineAnnealingLR(opt, T_max=T, eta_min=eta_min), opt)
    e = np.arange(EPOCHS)
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:, g], eta_min + (base - eta_min) * (1 + np.cos(np.pi * e / T)) / 2, rtol=1e-13)

        def recursive(lr, e, base=base):  # torch's get_lr
            if e == 0:
                return lr
            if (e - 1 - T) % (2 * T) == 0:
                return lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
            return (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - eta_min) + eta_min

        np.testing.assert_allclose(got[:, g], chain(base, EPOCHS, recursive), rtol=1e-9, atol=1e-15)


def test_linear_lr_warmup():
    start, end, total = 0.25, 1.0, 8
    opt = make_opt(BASES)
    got = run(S.LinearLR(opt, start_factor=start, end_factor=end, total_iters=total), opt)
    e = np.arange(EPOCHS)
    for g, base in enumerate(BASES):
        np.testing.assert_allclose(got[:, g], base * (start + (end - start) * np.minimum(e, total) / total), rtol=1e-14)

        def recursive(lr, e):  # torch's get_lr
            if e == 0:
                return lr * start
            if e > total:
                return lr
            return lr * (1 + (end - start) / (total * start + (e - 1) * (end - start)))

        np.testing.assert_allclose(got[:, g], chain(base, EPOCHS, recursive), rtol=1e-12)
    assert S.LinearLR(make_opt(), total_iters=5).get_last_lr() == [pytest.approx(0.1 / 3)]  # PyTorch's defaults


@pytest.mark.parametrize("T_0,T_mult,eta_min", [(5, 1, 0.0), (3, 2, 0.01), (2, 3, 0.0)])
def test_cosine_annealing_warm_restarts(T_0, T_mult, eta_min):
    opt = make_opt(BASES)
    sched = S.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=eta_min)
    got = run(sched, opt)
    t_cur, t_i, want = 0, T_0, []
    for e in range(EPOCHS):  # torch's step() with no epoch
        if e:
            t_cur += 1
            if t_cur >= t_i:
                t_cur, t_i = t_cur - t_i, t_i * T_mult
        want.append([eta_min + (b - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2 for b in BASES])
    np.testing.assert_allclose(got, want, rtol=1e-13)
    # step(epoch): a fractional epoch jumps there, as in torch.
    sched.step(7.5)
    if T_mult == 1:
        t_cur, t_i = 7.5 % T_0, T_0
    else:
        n = int(math.log(7.5 / T_0 * (T_mult - 1) + 1, T_mult))
        t_cur, t_i = 7.5 - T_0 * (T_mult**n - 1) / (T_mult - 1), T_0 * T_mult**n
    assert sched.T_cur == pytest.approx(t_cur) and sched.T_i == t_i and sched.last_epoch == 7
    assert opt.param_groups[0]["lr"] == pytest.approx(eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)


def ref_one_cycle(total, max_lr, pct=0.3, strategy="cos", div=25.0, final_div=1e4, three_phase=False,
                  base_m=0.85, max_m=0.95):
    """torch.optim.lr_scheduler.OneCycleLR.get_lr, in NumPy: (lr, momentum) per step."""
    init = max_lr / div
    low = init / final_div
    if three_phase:
        phases = [(pct * total - 1, init, max_lr, max_m, base_m), (2 * pct * total - 2, max_lr, init, base_m, max_m),
                  (total - 1, init, low, max_m, max_m)]
    else:
        phases = [(pct * total - 1, init, max_lr, max_m, base_m), (total - 1, max_lr, low, base_m, max_m)]

    def anneal(a, b, p):
        return b + (a - b) / 2 * (math.cos(math.pi * p) + 1) if strategy == "cos" else (b - a) * p + a

    out = []
    for step in range(total):
        start = 0
        for i, (end, lr0, lr1, m0, m1) in enumerate(phases):
            if step <= end or i == len(phases) - 1:
                p = (step - start) / (end - start)
                out.append((anneal(lr0, lr1, p), anneal(m0, m1, p)))
                break
            start = end
    return np.array(out)


@pytest.mark.parametrize("strategy,three_phase", [("cos", False), ("linear", False), ("cos", True), ("linear", True)])
def test_one_cycle_lr_and_momentum(strategy, three_phase):
    total = 37
    opt = make_opt((0.5,), momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=0.5, total_steps=total, anneal_strategy=strategy, three_phase=three_phase)
    want = ref_one_cycle(total, 0.5, strategy=strategy, three_phase=three_phase)
    got = []
    for step in range(total):
        if step:
            sched.step()
        got.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 38 times, but total_steps is 37"):
        sched.step()


def test_one_cycle_lr_cycles_adam_beta1_and_epochs_argument():
    opt = make_opt((0.1, 0.2), cls=am.optim.Adam)
    sched = S.OneCycleLR(opt, max_lr=[1.0, 2.0], epochs=4, steps_per_epoch=5, pct_start=0.25)
    want = [ref_one_cycle(20, m, pct=0.25) for m in (1.0, 2.0)]
    for step in range(20):
        if step:
            sched.step()
        for g in range(2):
            assert opt.param_groups[g]["lr"] == pytest.approx(want[g][step, 0], rel=1e-12)
            assert opt.param_groups[g]["betas"][0] == pytest.approx(want[g][step, 1], rel=1e-12)
            assert opt.param_groups[g]["betas"][1] == 0.999
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum needs an optimizer with momentum or betas"):
        S.OneCycleLR(make_opt(cls=am.optim.Adagrad), max_lr=1.0, total_steps=10)
    S.OneCycleLR(make_opt(cls=am.optim.Adagrad), max_lr=1.0, total_steps=10, cycle_momentum=False)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        S.OneCycleLR(opt, max_lr=1.0)


def ref_plateau(metrics, lr, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps=1e-8):
    """torch.optim.lr_scheduler.ReduceLROnPlateau.step, in NumPy: the lr after each metric."""
    best = math.inf if mode == "min" else -math.inf
    bad = cool = 0
    out = []
    for m in metrics:
        if mode == "min":
            better = m < best * (1 - threshold) if threshold_mode == "rel" else m < best - threshold
        else:
            better = m > best * (threshold + 1) if threshold_mode == "rel" else m > best + threshold
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool -= 1
            bad = 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


@pytest.mark.parametrize("mode,threshold_mode,cooldown", [("min", "rel", 0), ("min", "abs", 2), ("max", "rel", 1),
                                                          ("max", "abs", 0)])
def test_reduce_lr_on_plateau(rng, mode, threshold_mode, cooldown):
    metrics = list(np.cumsum(rng.standard_normal(80)) * 0.1 + 5)
    opt = make_opt((0.1,))
    sched = S.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=3, threshold=0.01, threshold_mode=threshold_mode,
                                cooldown=cooldown, min_lr=0.004)
    got = []
    for m in metrics:
        sched.step(m)
        got.append(opt.param_groups[0]["lr"])
    want = ref_plateau(metrics, 0.1, mode, 0.5, 3, 0.01, threshold_mode, cooldown, 0.004)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert min(got) < 0.1  # it did reduce
    state = sched.state_dict()
    other = S.ReduceLROnPlateau(make_opt((got[-1],)), mode=mode, factor=0.5, patience=3, threshold=0.01,
                                threshold_mode=threshold_mode, cooldown=cooldown, min_lr=0.004)
    other.load_state_dict(state)
    assert other.state_dict() == state


def test_scheduler_state_dict_resumes():
    opt = make_opt(BASES)
    sched = S.CosineAnnealingLR(opt, T_max=9)
    for _ in range(5):
        sched.step()
    opt2 = make_opt(BASES)
    sched2 = S.CosineAnnealingLR(opt2, T_max=9)
    sched2.load_state_dict(sched.state_dict())
    for _ in range(3):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
    warm = S.CosineAnnealingWarmRestarts(make_opt(), T_0=2, T_mult=2)
    warm.step(4.25)
    again = S.CosineAnnealingWarmRestarts(make_opt(), T_0=2, T_mult=2)
    again.load_state_dict(warm.state_dict())
    assert again.T_cur == pytest.approx(warm.T_cur) and again.T_i == warm.T_i
    assert again.get_last_lr() == pytest.approx(warm.get_last_lr())


def test_scheduler_errors():
    opt = make_opt()
    with pytest.raises(ValueError, match="StepLR: step_size must be > 0"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be > 0"):
        S.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_0 must be a positive integer"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match=r"LinearLR: start_factor must be in \(0, 1\]"):
        S.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be in"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max'"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="OneCycleLR: anneal_strategy must be 'cos' or 'linear'"):
        S.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="step")
    with pytest.raises(ValueError, match="OneCycleLR: expected 1 or 1 max_lr values"):
        S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=10)
    with pytest.raises(TypeError):
        S.StepLR(None, step_size=1)
