"""am.hpo CmaEsSampler and the native CMA-ES (csrc/hpo/cmaes.h) against a NumPy reference."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest

import aimass.hpo as ah
from aimass._core import hpo as native
from aimass.hpo.exceptions import ExperimentalWarning

ah.logging.set_verbosity(ah.logging.WARNING)


def _reference_tell(mean, sigma, C, p_sigma, pc, x, values, generation, separable=False):
    """One generation of Hansen's (mu/mu_w, lambda)-CMA-ES with active weights (the cmaes package's
    formulas) in NumPy: returns the new mean, sigma and C. generation is the count after the tell."""
    lam, n = x.shape
    mu = lam // 2
    if separable:
        w = np.log(mu + 1) - np.log(np.arange(1, mu + 1))
        w = w / w.sum()
        mu_eff = 1 / np.sum(w**2)
        weights = np.concatenate([w, np.zeros(lam - mu)])
        c1 = 2 / ((n + 1.3) ** 2 + mu_eff)
        cmu_full = (2 / mu_eff / (n + np.sqrt(2)) ** 2
                    + (1 - 1 / mu_eff) * min(1, (2 * mu_eff - 1) / ((n + 2) ** 2 + mu_eff)))
        cmu = (n + 2) / 3 * cmu_full
        c_s = (mu_eff + 2) / (n + mu_eff + 3)
        cc = 4 / (n + 4)
    else:
        wp = np.log((lam + 1) / 2) - np.log(np.arange(1, lam + 1))
        mu_eff = wp[:mu].sum() ** 2 / (wp[:mu] ** 2).sum()
        mu_eff_m = wp[mu:].sum() ** 2 / (wp[mu:] ** 2).sum()
        c1 = 2 / ((n + 1.3) ** 2 + mu_eff)
        cmu = min(1 - c1 - 1e-8, 2 * (mu_eff - 2 + 1 / mu_eff) / ((n + 2) ** 2 + mu_eff))
        min_alpha = min(1 + c1 / cmu, 1 + 2 * mu_eff_m / (mu_eff + 2), (1 - c1 - cmu) / (n * cmu))
        weights = np.where(wp >= 0, wp / wp[wp > 0].sum(), min_alpha / np.abs(wp[wp < 0]).sum() * wp)
        c_s = (mu_eff + 2) / (n + mu_eff + 5)
        cc = (4 + mu_eff / n) / (n + 4 + 2 * mu_eff / n)
    d_s = 1 + 2 * max(0, np.sqrt((mu_eff - 1) / (n + 1)) - 1) + c_s
    chi_n = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    order = np.argsort(values, kind="stable")
    y = (x[order] - mean) / sigma
    yw = weights[:mu] @ y[:mu]
    new_mean = mean + sigma * yw
    if separable:
        D = np.sqrt(C)
        inv_sqrt = np.diag(1 / D)
    else:
        ev, B = np.linalg.eigh(C)
        inv_sqrt = B @ np.diag(1 / np.sqrt(ev)) @ B.T
    p_sigma = (1 - c_s) * p_sigma + np.sqrt(c_s * (2 - c_s) * mu_eff) * inv_sqrt @ yw
    norm = np.linalg.norm(p_sigma)
    new_sigma = sigma * np.exp(c_s / d_s * (norm / chi_n - 1))
    h = 1.0 if norm / np.sqrt(1 - (1 - c_s) ** (2 * (generation + 1))) < (1.4 + 2 / (n + 1)) * chi_n else 0.0
    pc = (1 - cc) * pc + h * np.sqrt(cc * (2 - cc) * mu_eff) * yw
    dh = (1 - h) * cc * (2 - cc)
    decay = 1 + c1 * dh - c1 - cmu * weights.sum()
    if separable:
        return new_mean, new_sigma, decay * C + c1 * pc**2 + cmu * (weights[:, None] * y**2).sum(0)
    w_io = np.where(weights >= 0, weights, weights * n / (np.linalg.norm(inv_sqrt @ y.T, axis=0) ** 2 + 1e-8))
    rank_mu = sum(w * np.outer(v, v) for w, v in zip(w_io, y))
    return new_mean, new_sigma, decay * C + c1 * np.outer(pc, pc) + cmu * rank_mu


@pytest.mark.parametrize("separable", [False, True])
def test_one_generation_matches_numpy_reference(separable):
    rng = np.random.default_rng(3)
    n, lam = 4, 8
    mean = rng.uniform(-1, 1, n)
    big = np.full(n, 1e6)
    opt = native.CmaEs(mean, 0.7, -big, big, popsize=lam, separable=separable)
    x = mean + 0.7 * rng.normal(size=(lam, n))
    values = rng.normal(size=lam)
    opt.tell(x, values)
    C0 = np.ones(n) if separable else np.eye(n)
    m_ref, s_ref, C_ref = _reference_tell(mean, 0.7, C0, np.zeros(n), np.zeros(n), x, values, 1, separable)
    np.testing.assert_allclose(opt.mean, m_ref, rtol=1e-12, atol=1e-12)
    assert opt.sigma == pytest.approx(s_ref, rel=1e-12)
    np.testing.assert_allclose(opt.cov, C_ref, rtol=1e-10, atol=1e-12)
    assert opt.generation == 1


def test_ask_stays_in_bounds_and_state_round_trips():
    opt = native.CmaEs(np.full(3, 0.9), 0.5, np.zeros(3), np.ones(3), popsize=6)
    xs = np.array([opt.ask(s) for s in range(200)])
    assert xs.min() >= 0 and xs.max() <= 1
    np.testing.assert_array_equal(opt.ask(7), opt.ask(7))  # a seed gives one point
    opt.tell(xs[:6], (xs[:6] ** 2).sum(1))
    back = native.CmaEs.from_state(opt.state())
    np.testing.assert_array_equal(back.mean, opt.mean)
    np.testing.assert_array_equal(back.cov, opt.cov)
    assert (back.sigma, back.generation, back.popsize) == (opt.sigma, 1, 6)
    np.testing.assert_array_equal(back.ask(11), opt.ask(11))
    with pytest.raises(ValueError, match="not a saved CMA-ES state"):
        native.CmaEs.from_state(b"\0" * 8 * 20)
    with pytest.raises(ValueError, match="popsize = 6"):
        opt.tell(xs[:5], np.zeros(5))
    with pytest.raises(ValueError, match="outside its bounds"):
        native.CmaEs(np.full(2, 2.0), 0.5, np.zeros(2), np.ones(2))


def _sphere(trial):
    x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(5)])
    return float((x**2).sum())


def test_sphere_5d_beats_random():
    cma = ah.create_study(sampler=ah.samplers.CmaEsSampler(seed=1))
    cma.optimize(_sphere, n_trials=400)
    rnd = ah.create_study(sampler=ah.samplers.RandomSampler(seed=1))
    rnd.optimize(_sphere, n_trials=400)
    assert cma.best_value < 1e-3
    assert cma.best_value < rnd.best_value / 100


def test_rosenbrock_2d_converges():
    def rosen(trial):
        x, y = trial.suggest_float("x", -2, 2), trial.suggest_float("y", -2, 2)
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2
    study = ah.create_study(sampler=ah.samplers.CmaEsSampler(seed=0))
    study.optimize(rosen, n_trials=600)
    assert study.best_value < 1e-4
    assert study.best_params["x"] == pytest.approx(1.0, abs=0.02)


def test_generation_bookkeeping_and_maximize():
    study = ah.create_study(direction="maximize", sampler=ah.samplers.CmaEsSampler(seed=0, popsize=5))
    study.optimize(lambda t: -(t.suggest_float("a", 0, 1) - 0.3) ** 2 - (t.suggest_float("b", 0, 1) - 0.6) ** 2,
                   n_trials=120)
    gens = [t.system_attrs.get("cma:generation") for t in study.trials]
    assert gens[0] is None  # the startup trial is random
    assert gens[1:6] == [0] * 5 and gens[6:11] == [1] * 5
    assert "cma:optimizer:0" in study.trials[6].system_attrs  # the trial that told generation 0
    assert study.best_value > -1e-4


def test_int_step_params_and_categorical_fallback(caplog):
    def obj(trial):
        n = trial.suggest_int("n", 1, 9, step=2)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
        c = trial.suggest_categorical("c", ["a", "b"])
        return (n - 5) ** 2 + (math.log10(lr) + 2) ** 2 + q + (c == "b")
    sampler = ah.samplers.CmaEsSampler(seed=0)
    study = ah.create_study(sampler=sampler)
    with caplog.at_level(logging.WARNING):
        study.optimize(obj, n_trials=60)
    for t in study.trials:
        assert t.params["n"] in (1, 3, 5, 7, 9) and t.params["q"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert 1e-4 <= t.params["lr"] <= 1e-1
    assert any("is sampled independently using `RandomSampler` instead of `CmaEsSampler`" in r.message
               for r in caplog.records)
    assert "c" not in sampler.infer_relative_search_space(study, study.trials[-1])


def test_ipop_restart_grows_popsize():
    with pytest.warns(FutureWarning, match="restart_strategy"):
        sampler = ah.samplers.CmaEsSampler(seed=0, restart_strategy="ipop", popsize=4, inc_popsize=2)
    study = ah.create_study(sampler=sampler)
    # a flat objective: the best-worst range stays below tolfun, so the optimizer stops and restarts
    study.optimize(lambda t: 1.0 + 0 * t.suggest_float("x", 0, 1) * t.suggest_float("y", 0, 1), n_trials=300)
    keys = set().union(*(t.system_attrs for t in study.trials))
    assert "cma:restart_1:generation" in keys
    restarted = [t for t in study.trials if t.system_attrs.get("cma:n_restarts", 0) >= 1
                 and "cma:optimizer:0" in t.system_attrs][0]
    state = bytes.fromhex("".join(restarted.system_attrs[f"cma:optimizer:{i}"] for i in range(
        sum(k.startswith("cma:optimizer:") for k in restarted.system_attrs))))
    assert native.CmaEs.from_state(state).popsize == 8
    with pytest.raises(ValueError, match="restart_strategy"), pytest.warns(FutureWarning):
        ah.samplers.CmaEsSampler(restart_strategy="bipop")


def test_same_seed_same_trials():
    def run(seed):
        study = ah.create_study(sampler=ah.samplers.CmaEsSampler(seed=seed))
        study.optimize(_sphere, n_trials=40)
        return [t.params for t in study.trials]
    assert run(5) == run(5)
    assert run(5) != run(6)


def test_separable_lr_adapt_and_warm_start():
    with pytest.warns(ExperimentalWarning, match="use_separable_cma"):
        sep = ah.samplers.CmaEsSampler(seed=0, use_separable_cma=True)
    study = ah.create_study(sampler=sep)
    study.optimize(_sphere, n_trials=300)
    assert study.best_value < 1e-2
    assert "sepcma:generation" in study.trials[-1].system_attrs
    with pytest.warns(ExperimentalWarning, match="lr_adapt"):
        lra = ah.samplers.CmaEsSampler(seed=0, lr_adapt=True)
    study = ah.create_study(sampler=lra)
    study.optimize(_sphere, n_trials=300)
    assert study.best_value < 1e-1
    source = ah.create_study(sampler=ah.samplers.RandomSampler(seed=0))
    source.optimize(_sphere, n_trials=50)
    with pytest.warns(ExperimentalWarning, match="source_trials"):
        ws = ah.samplers.CmaEsSampler(seed=0, source_trials=source.trials)
    study = ah.create_study(sampler=ws)
    study.optimize(_sphere, n_trials=100)
    assert study.best_value < source.best_value


def test_errors():
    with pytest.raises(ValueError, match="multi-objective"):
        ah.create_study(directions=["minimize", "minimize"], sampler=ah.samplers.CmaEsSampler()).optimize(
            lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), n_trials=3)
    with pytest.raises(ValueError, match="use_separable_cma` or `with_margin"):
        ah.samplers.CmaEsSampler(lr_adapt=True, use_separable_cma=True)


def test_threads_share_one_sampler():
    study = ah.create_study(sampler=ah.samplers.CmaEsSampler(seed=0))
    study.optimize(_sphere, n_trials=200, n_jobs=3)
    assert len(study.trials) == 200 and study.best_value < 1.0
