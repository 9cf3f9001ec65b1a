"""am.hpo GPSampler and the native GP (csrc/hpo/gp.h) against NumPy closed forms."""
from __future__ import annotations

import math

import numpy as np
import pytest

import aimass.hpo as ah
from aimass._core import hpo as native

ah.logging.set_verbosity(ah.logging.WARNING)


def _kernel(A, B, isl, scale, cat):
    """Matern 5/2 ARD with Hamming distance on the categorical columns: A [a, d], B [b, d] -> [a, b]."""
    diff = A[:, None, :] - B[None, :, :]
    sq = np.where(cat, (diff != 0).astype(float), diff**2)
    d2 = sq @ isl
    r = np.sqrt(5 * d2)
    return scale * np.exp(-r) * (1 + r + 5.0 / 3.0 * d2)


def _toy(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.random(n), rng.random(n), rng.integers(0, 3, n).astype(float)])
    y = np.sin(5 * X[:, 0]) + X[:, 1] ** 2 - 0.3 * X[:, 2]
    return X, (y - y.mean()) / y.std(), np.array([False, False, True])


def test_posterior_and_marginal_likelihood_match_numpy():
    X, y, cat = _toy()
    isl, scale, noise = np.array([2.0, 0.5, 1.5]), 1.3, 1e-3
    gp = native.GaussianProcess(X, cat, y, isl, scale, noise)
    rng = np.random.default_rng(1)
    Xs = np.column_stack([rng.random(7), rng.random(7), rng.integers(0, 3, 7).astype(float)])
    K = _kernel(X, X, isl, scale, cat) + noise * np.eye(len(X))
    Ks = _kernel(Xs, X, isl, scale, cat)
    mean_ref = Ks @ np.linalg.solve(K, y)
    var_ref = scale - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))
    mean, var = gp.posterior(Xs)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(var, var_ref, rtol=1e-7, atol=1e-10)
    # at a training point with tiny noise the posterior interpolates
    m0, v0 = gp.posterior(X[:1])
    assert m0[0] == pytest.approx(y[0], abs=1e-2) and v0[0] < 1e-2
    sign, logdet = np.linalg.slogdet(K)
    lml_ref = -0.5 * logdet - 0.5 * y @ np.linalg.solve(K, y)
    assert gp.log_marginal_likelihood() == pytest.approx(lml_ref, rel=1e-10)


def _objective(raw, X, y, cat, min_noise=1e-6):
    """-(log marginal likelihood + Optuna's log prior) at raw = [log l, log s, log(v - v_min)]."""
    d = X.shape[1]
    isl, s, v = np.exp(raw[:d]), np.exp(raw[d]), np.exp(raw[d + 1]) + min_noise
    K = _kernel(X, X, isl, s, cat) + v * np.eye(len(X))
    lml = -0.5 * np.linalg.slogdet(K)[1] - 0.5 * y @ np.linalg.solve(K, y)
    prior = -(0.1 / isl + 0.1 * isl).sum() + (math.log(s) - s) + (0.1 * math.log(v) - 30 * v)
    return -(lml + prior)


def test_fit_is_a_local_optimum_of_marginal_likelihood_plus_prior():
    X, y, cat = _toy(20)
    isl, s, v = native.gp_fit(X, cat, y)
    raw = np.concatenate([np.log(isl), [math.log(s), math.log(v - 1e-6)]])
    f0 = _objective(raw, X, y, cat)
    assert f0 < _objective(np.zeros(len(raw)), X, y, cat)  # better than the all-ones start
    for i in range(len(raw)):
        for h in (-1e-2, 1e-2):
            bumped = raw.copy()
            bumped[i] += h
            assert _objective(bumped, X, y, cat) > f0 - 1e-3
    isl_d, s_d, v_d = native.gp_fit(X, cat, y, deterministic_objective=True)
    assert v_d == 1e-6


def _log_ei_reference(z):
    cdf = 0.5 * math.erfc(-z / math.sqrt(2))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return math.log(z * cdf + pdf)


def test_standard_log_ei_closed_form():
    zs = np.linspace(-6, 6, 49)
    np.testing.assert_allclose(native.standard_log_ei(zs), [_log_ei_reference(z) for z in zs], rtol=1e-10)
    # far below: log EI ~ -z^2/2 - log(sqrt(2 pi)) - 2 log|z| (the asymptotic form), and still finite
    for z in (-30.0, -60.0, -1e3):
        u = 1 / z**2
        expect = (-0.5 * z * z - 0.5 * math.log(2 * math.pi) - 2 * math.log(-z)
                  + math.log(1 - 3 * u + 15 * u * u - 105 * u**3))
        assert native.standard_log_ei(np.array([z]))[0] == pytest.approx(expect, rel=1e-9)
    np.testing.assert_allclose(native.log_ndtr(np.array([-3.0, 0.0, 2.0])),
                               [math.log(0.5 * math.erfc(v / math.sqrt(2))) for v in (3.0, 0.0, -2.0)], rtol=1e-12)
    assert native.log_ndtr(np.array([-40.0]))[0] == pytest.approx(-800 - math.log(40 * math.sqrt(2 * math.pi)),
                                                                   rel=1e-6)
    X, y, cat = _toy()
    gp = native.GaussianProcess(X, cat, y, np.ones(3), 1.0, 1e-2)
    xs = X[:4] + 0.01
    mean, var = gp.posterior(xs)
    sd = np.sqrt(var + 1e-12)
    ref = [_log_ei_reference((m - 0.5) / s) + math.log(s) for m, s in zip(mean, sd)]
    np.testing.assert_allclose(native.acquisition_value(gp, 0.5, xs), ref, rtol=1e-9)


def test_acquisition_search_finds_the_best_candidate():
    X, y, cat = _toy(15)
    isl, s, v = native.gp_fit(X, cat, y)
    gp = native.GaussianProcess(X, cat, y, isl, s, v)
    choices = [[], [], [0.0, 1.0, 2.0]]
    x, value = native.gp_optimize_acquisition(gp, float(y.max()), [], [], choices, X[[np.argmax(y)]], 0)
    assert x[2] in (0.0, 1.0, 2.0) and 0 <= x[0] <= 1 and 0 <= x[1] <= 1
    assert value == pytest.approx(native.acquisition_value(gp, float(y.max()), x[None])[0])
    rng = np.random.default_rng(0)
    grid = np.column_stack([rng.random(4000), rng.random(4000), rng.integers(0, 3, 4000).astype(float)])
    assert value >= native.acquisition_value(gp, float(y.max()), grid).max() - 1e-6


def _quadratic(trial):
    x, y = trial.suggest_float("x", -5, 5), trial.suggest_float("y", -5, 5)
    return (x - 1.3) ** 2 + 2 * (y + 0.7) ** 2


def test_gp_sampler_minimises_a_2d_quadratic_in_30_trials():
    study = ah.create_study(sampler=ah.samplers.GPSampler(seed=0))
    study.optimize(_quadratic, n_trials=30)
    assert study.best_value < 1e-2
    assert study.best_params["x"] == pytest.approx(1.3, abs=0.1)
    rnd = ah.create_study(sampler=ah.samplers.RandomSampler(seed=0))
    rnd.optimize(_quadratic, n_trials=30)
    assert study.best_value < rnd.best_value / 10


def test_same_seed_same_trials_and_mixed_params():
    def obj(trial):
        c = trial.suggest_categorical("c", ["a", "b", "c"])
        n = trial.suggest_int("n", 1, 20)
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        return (n - 7) ** 2 / 10 + (math.log10(lr) + 2) ** 2 + {"a": 1.0, "b": 0.0, "c": 2.0}[c]

    def run(seed):
        study = ah.create_study(sampler=ah.samplers.GPSampler(seed=seed, n_startup_trials=5))
        study.optimize(obj, n_trials=25)
        return study
    a, b = run(3), run(3)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in run(4).trials]
    assert all(t.params["n"] in range(1, 21) and 1e-4 <= t.params["lr"] <= 1.0 for t in a.trials)
    assert a.best_value < 0.5


def test_constraints_are_respected():
    def obj(trial):
        x, y = trial.suggest_float("x", -3, 3), trial.suggest_float("y", -3, 3)
        trial.set_constraint([1.0 - x])  # feasible when x >= 1
        return x * x + y * y
    study = ah.create_study(sampler=ah.samplers.GPSampler(seed=0))
    study.optimize(obj, n_trials=35)
    best = study.best_trial
    assert best.params["x"] >= 1.0 and best.value < 1.1
    late = study.trials[-15:]
    assert sum(t.params["x"] >= 0.98 for t in late) >= 12


def test_multi_objective_runs():
    study = ah.create_study(directions=["minimize", "minimize"], sampler=ah.samplers.GPSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) ** 2, (t.suggest_float("y", 0, 1) - 1) ** 2), n_trials=20)
    assert len(study.best_trials) >= 1


def test_running_trials_are_believed_not_repeated():
    study = ah.create_study(sampler=ah.samplers.GPSampler(seed=0, n_startup_trials=5))
    study.optimize(_quadratic, n_trials=8)
    a, b = study.ask(), study.ask()  # two workers ask before either reports
    xa = (a.suggest_float("x", -5, 5), a.suggest_float("y", -5, 5))
    xb = (b.suggest_float("x", -5, 5), b.suggest_float("y", -5, 5))
    assert "gp:relative_params:0" in study.trials[a.number].system_attrs
    assert np.hypot(xa[0] - xb[0], xa[1] - xb[1]) > 1e-3
    study.tell(a, _quadratic(ah.trial.FixedTrial({"x": xa[0], "y": xa[1]})))
    study.tell(b, _quadratic(ah.trial.FixedTrial({"x": xb[0], "y": xb[1]})))
    study.optimize(_quadratic, n_trials=20, n_jobs=2)
    assert study.best_value < 0.1
