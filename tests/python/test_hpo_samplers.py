"""RandomSampler, GridSampler and QMCSampler: the distributions they draw, seeds, the grid across
threads, Sobol points against scipy."""
import math
import threading

import numpy as np
import pytest

import aimass.hpo as hpo
from aimass._core import hpo as native
from aimass.hpo.distributions import CategoricalDistribution, FloatDistribution, IntDistribution



def _draws(sampler, dist, n):
    study = hpo.create_study(sampler=sampler)
    trial = study.ask()
    return [sampler.sample_independent(study, trial, "x", dist) for _ in range(n)]


def _chi2_ok(counts, expected):
    # 99.9% quantile of chi-square with k - 1 degrees of freedom (Wilson-Hilferty)
    k = len(counts) - 1
    q = k * (1 - 2 / (9 * k) + 3.09 * math.sqrt(2 / (9 * k))) ** 3
    return float(((counts - expected) ** 2 / expected).sum()) < q


def _ks_uniform(u):
    u = np.sort(np.asarray(u))
    n = len(u)
    d = max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))
    return d < 1.95 / math.sqrt(n)  # 0.1% level


def test_random_float_uniform_and_log_uniform():
    x = np.array(_draws(hpo.samplers.RandomSampler(seed=0), FloatDistribution(-2.0, 3.0), 4000))
    assert x.min() >= -2 and x.max() <= 3 and _ks_uniform((x + 2) / 5)
    y = np.array(_draws(hpo.samplers.RandomSampler(seed=1), FloatDistribution(1e-4, 1.0, log=True), 4000))
    assert y.min() >= 1e-4 and y.max() <= 1 and _ks_uniform(np.log(y / 1e-4) / np.log(1e4))


def test_random_int_step_and_categorical_frequencies():
    ints = np.array(_draws(hpo.samplers.RandomSampler(seed=2), IntDistribution(3, 12), 5000))
    assert all(isinstance(v, int) for v in ints[:10].tolist())
    assert _chi2_ok(np.bincount(ints - 3, minlength=10), 500.0)
    stepped = np.array(_draws(hpo.samplers.RandomSampler(seed=3), FloatDistribution(0.0, 1.0, step=0.25), 5000))
    values, counts = np.unique(stepped, return_counts=True)
    assert values.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and _chi2_ok(counts, 1000.0)
    cats = _draws(hpo.samplers.RandomSampler(seed=4), CategoricalDistribution(["a", "b", None]), 3000)
    assert _chi2_ok(np.array([cats.count("a"), cats.count("b"), cats.count(None)]), 1000.0)
    # log int: P(k) proportional to log((k + 0.5) / (k - 0.5))
    logi = np.array(_draws(hpo.samplers.RandomSampler(seed=5), IntDistribution(1, 8, log=True), 8000))
    k = np.arange(1, 9)
    p = np.log((k + 0.5) / (k - 0.5)) / np.log(8.5 / 0.5)
    assert _chi2_ok(np.bincount(logi - 1, minlength=8), 8000 * p)


def test_random_seed_reproducible():
    def run(seed):
        study = hpo.create_study(sampler=hpo.samplers.RandomSampler(seed=seed))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("y", 0, 9), n_trials=20)
        return [t.params for t in study.trials]
    assert run(7) == run(7) and run(7) != run(8)


def test_grid_visits_every_point_once_and_stops():
    grid = {"x": [0, 1, 2], "y": ["a", "b"], "z": [0.5, 1.5]}
    study = hpo.create_study(sampler=hpo.samplers.GridSampler(grid, seed=1))
    study.optimize(lambda t: t.suggest_int("x", 0, 2) + len(t.suggest_categorical("y", ["a", "b"]))
                   + t.suggest_float("z", 0, 2), n_trials=100)
    points = sorted((t.params["x"], t.params["y"], t.params["z"]) for t in study.trials)
    assert len(study.trials) == 12 and len(set(points)) == 12
    assert all(t.system_attrs["search_space"] == {k: grid[k] for k in sorted(grid)} for t in study.trials)
    assert study.sampler.is_exhausted(study)


def test_grid_order_matches_optuna():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    grid = {"x": list(range(5)), "y": [-1.0, 1.0]}

    def obj(t):
        return t.suggest_int("x", 0, 4) * t.suggest_float("y", -1, 1)
    ours = hpo.create_study(sampler=hpo.samplers.GridSampler(grid, seed=3))
    ours.optimize(obj, n_trials=10)
    theirs = optuna.create_study(sampler=optuna.samplers.GridSampler(grid, seed=3))
    theirs.optimize(obj, n_trials=10)
    assert [t.params for t in ours.trials] == [t.params for t in theirs.trials]


def test_grid_two_threads_each_point_once():
    grid = {"x": list(range(30))}
    study = hpo.create_study(sampler=hpo.samplers.GridSampler(grid, seed=0))
    study.optimize(lambda t: t.suggest_int("x", 0, 29), n_trials=30, n_jobs=2)
    xs = sorted(t.params["x"] for t in study.trials)
    assert xs == list(range(30))


def test_grid_errors():
    study = hpo.create_study(sampler=hpo.samplers.GridSampler({"x": [1, 2]}))
    with pytest.raises(ValueError, match="not found in the given grid"):
        study.optimize(lambda t: t.suggest_int("w", 0, 3), n_trials=1)


def test_sobol_equals_scipy():
    qmc = pytest.importorskip("scipy.stats.qmc")
    import warnings
    for d in (1, 4, 13):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = qmc.Sobol(d, scramble=False).random(256)
        np.testing.assert_array_equal(native.Sobol(d).points(0, 256), ref)
    engine = qmc.Sobol(5, scramble=False)
    engine.fast_forward(12345)
    np.testing.assert_array_equal(native.Sobol(5).points(12345, 4), engine.random(4))
    np.testing.assert_allclose(native.Halton(3).points(0, 50), qmc.Halton(3, scramble=False).random(50), atol=1e-15)


def test_sobol_known_prefix_and_scrambled_balance():
    assert native.Sobol(2).points(0, 4).tolist() == [[0, 0], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75]]
    pts = native.Sobol(3, True, 11).points(0, 1024)
    assert np.all(np.abs(pts.mean(axis=0) - 0.5) < 0.01)
    for j in range(3):  # each of 1024 intervals of a coordinate holds one point
        assert np.unique((pts[:, j] * 1024).astype(int)).size == 1024
    assert not np.array_equal(pts, native.Sobol(3, True, 12).points(0, 1024))
    np.testing.assert_array_equal(pts, native.Sobol(3, True, 11).points(0, 1024))


def test_qmc_sampler_walks_the_sequence():
    sampler = hpo.samplers.QMCSampler(seed=0)
    study = hpo.create_study(sampler=sampler)

    def obj(t):
        return t.suggest_float("x", -1, 1) + t.suggest_int("n", 0, 7) + t.suggest_float("lr", 1e-4, 1, log=True)
    study.optimize(obj, n_trials=9)
    # trial 0 is random (no search space yet); trial i >= 1 takes Sobol point i - 1 ... as Optuna
    pts = native.Sobol(3).points(0, 8)
    for t, u in zip(study.trials[1:], pts):
        assert t.params["x"] == pytest.approx(-1 + 2 * u[0])
        assert t.params["n"] == min(max(math.floor(-0.5 + 8 * u[1] + 0.5), 0), 7)  # Optuna rounds ints half up
        assert t.params["lr"] == pytest.approx(math.exp(math.log(1e-4) + u[2] * math.log(1e4)))
    with pytest.raises(ValueError, match="is invalid"):
        hpo.samplers.QMCSampler(qmc_type="lhs")


def test_qmc_matches_optuna_unscrambled():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    import warnings

    def obj(t):
        return t.suggest_float("x", -1, 1) + t.suggest_int("n", 0, 7) + len(t.suggest_categorical("c", ["a", "bb"]))
    ours = hpo.create_study(sampler=hpo.samplers.QMCSampler(seed=0))
    ours.enqueue_trial({"x": 0.0, "n": 0, "c": "a"})
    ours.optimize(obj, n_trials=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = optuna.create_study(sampler=optuna.samplers.QMCSampler(seed=0))
        theirs.enqueue_trial({"x": 0.0, "n": 0, "c": "a"})
        theirs.optimize(obj, n_trials=12)
    assert [t.params for t in ours.trials] == [t.params for t in theirs.trials]
