"""TPESampler: the Parzen estimator against Optuna's, proposals, seeds, the split options
(pruned, constraints, running trials, several objectives) and the observation cache."""
import math
import warnings

import numpy as np
import pytest

import aimass.hpo as hpo
from aimass._core import hpo as native
from aimass.hpo.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from aimass.hpo.samplers import TPESampler
from aimass.hpo.samplers._tpe import _split, default_gamma, default_weights
from aimass.hpo.samplers._tpe_observations import Observations


SPACE = {"a": FloatDistribution(-3, 5), "b": FloatDistribution(1e-3, 10, log=True), "c": IntDistribution(0, 20),
         "d": IntDistribution(1, 1000, log=True), "e": CategoricalDistribution(["x", "y", "z"]),
         "f": FloatDistribution(0, 1, step=0.1)}


def _native_space(space):
    cat = [isinstance(d, CategoricalDistribution) for d in space.values()]
    ds = list(space.values())
    return native.ParzenSpace(cat, [len(d.choices) if c else 0 for d, c in zip(ds, cat)],
                              [0.0 if c else d.low for d, c in zip(ds, cat)],
                              [0.0 if c else d.high for d, c in zip(ds, cat)],
                              [0.0 if c else float(d.step or 0) for d, c in zip(ds, cat)],
                              [False if c else d.log for d, c in zip(ds, cat)])


def _observations(n, seed):
    rng = np.random.default_rng(seed)
    return {"a": rng.uniform(-3, 5, n), "b": np.exp(rng.uniform(np.log(1e-3), np.log(10), n)),
            "c": rng.integers(0, 21, n).astype(float), "d": np.round(np.exp(rng.uniform(0, np.log(1000), n))),
            "e": rng.integers(0, 3, n).astype(float), "f": np.round(rng.uniform(0, 1, n) * 10) / 10}


@pytest.mark.parametrize("n", [0, 1, 5, 20])
@pytest.mark.parametrize("names", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"], list(SPACE)])
def test_parzen_log_pdf_equals_optunas(n, names, monkeypatch):
    pe_mod = pytest.importorskip("optuna.samplers._tpe.parzen_estimator")
    # Which of several equal observations gets which neighbour gap is the sort's tie order: ours is
    # stable (by trial order); make Optuna's argsort stable too so the mixtures are the same.
    argsort = np.argsort
    monkeypatch.setattr(np, "argsort", lambda a, *args, **kw: argsort(a, kind="stable"))
    from optuna.samplers._tpe.sampler import default_weights as optuna_weights
    import optuna.distributions as od
    space = {k: SPACE[k] for k in names}
    theirs_space = {k: od.json_to_distribution(hpo.distributions.distribution_to_json(d)) for k, d in space.items()}
    obs = {k: v for k, v in _observations(n, 3).items() if k in names}
    params = pe_mod._ParzenEstimatorParameters(1.0, True, False, optuna_weights, True)
    theirs = pe_mod._ParzenEstimator(obs, theirs_space, params)
    monkeypatch.setattr(np, "argsort", argsort)
    x = theirs.sample(np.random.RandomState(0), 64)
    ours = native.ParzenEstimator(_native_space(space), np.stack([obs[k] for k in names], 1) if n else np.empty((0, 1)))
    got = ours.log_pdf(np.stack([x[k] for k in names], 1))
    np.testing.assert_allclose(got, theirs.log_pdf(x), rtol=0, atol=1e-9)


def test_parzen_log_pdf_many_observations_numpy_reference():
    # n >= 25: ramped weights; direct NumPy evaluation of the mixture (continuous, no ties)
    rng = np.random.default_rng(5)
    obs = rng.uniform(0, 1, 80)
    est = native.ParzenEstimator(_native_space({"u": FloatDistribution(0, 1)}), obs[:, None])
    order = np.argsort(obs)
    s = np.concatenate([[0.0], obs[order], [1.0]])
    sig = np.maximum(s[1:-1] - s[:-2], s[2:] - s[1:-1])
    sig[0], sig[-1] = s[2] - s[1], s[-2] - s[-3]
    sigma = np.empty(80)
    sigma[order] = sig
    sigma = np.clip(sigma, 1 / min(100, 82), 1.0)
    mu, sigma = np.append(obs, 0.5), np.append(sigma, 1.0)
    w = np.append(default_weights(80), 1.0)
    w /= w.sum()
    from math import erf
    mass = np.array([0.5 * (erf((1 - m) / s / 2**0.5) - erf((0 - m) / s / 2**0.5)) for m, s in zip(mu, sigma)])
    x = np.linspace(0.001, 0.999, 37)
    dens = (w * np.exp(-0.5 * ((x[:, None] - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi)) / mass).sum(1)
    np.testing.assert_allclose(est.log_pdf(x[:, None]), np.log(dens), atol=1e-10)


def test_sampled_candidates_stay_in_range_and_on_grid():
    obs = _observations(30, 1)
    est = native.ParzenEstimator(_native_space(SPACE), np.stack([obs[k] for k in SPACE], 1))
    x = est.sample(native.Rng(0), 2000)
    assert x[:, 0].min() >= -3 and x[:, 0].max() <= 5
    assert x[:, 1].min() >= 1e-3 and x[:, 1].max() <= 10
    assert np.all(x[:, 2] == np.round(x[:, 2])) and x[:, 2].min() >= 0 and x[:, 2].max() <= 20
    assert np.all(x[:, 3] == np.round(x[:, 3])) and x[:, 3].min() >= 1 and x[:, 3].max() <= 1000
    assert set(np.unique(x[:, 4]).tolist()) <= {0.0, 1.0, 2.0}
    np.testing.assert_allclose(x[:, 5] * 10, np.round(x[:, 5] * 10), atol=1e-9)


def test_defaults_are_optunas():
    assert [default_gamma(n) for n in (0, 1, 10, 11, 300)] == [0, 1, 1, 2, 25]
    np.testing.assert_allclose(native.default_weights(40), default_weights(40))
    s = TPESampler()
    assert s._n_startup_trials == 10 and s._n_ei_candidates == 24 and s._constant_liar is True
    assert s._multivariate is None and s._prior_weight == 1.0
    with pytest.warns(FutureWarning, match="prior_weight"):
        TPESampler(prior_weight=2.0)
    with pytest.raises(ValueError, match="group"):
        TPESampler(group=True, multivariate=False)
    with pytest.raises(TypeError):
        TPESampler(True)  # keyword-only, as Optuna 5


@pytest.mark.parametrize("multivariate", [True, False])
def test_quadratic_proposals_concentrate_near_optimum(multivariate):
    study = hpo.create_study(sampler=TPESampler(seed=1, multivariate=multivariate))
    study.optimize(lambda t: (t.suggest_float("x", -10, 10) - 3.0) ** 2, n_trials=80)
    late = np.array([t.params["x"] for t in study.trials[40:]])
    assert np.median(np.abs(late - 3.0)) < 2.0  # Optuna 5.1: 1.1 to 1.3 over seeds 0-4
    assert study.best_value < 0.01
    startup = np.array([t.params["x"] for t in study.trials[:10]])
    assert np.median(np.abs(startup - 3.0)) > np.median(np.abs(late - 3.0))


def _objective(t):
    x = t.suggest_float("x", -5, 5)
    n = t.suggest_int("n", 1, 64, log=True)
    c = t.suggest_categorical("c", ["a", "b", "c"])
    s = t.suggest_float("s", 0, 1, step=0.25)
    return x * x + abs(math.log2(n) - 3) + (c != "b") + s


@pytest.mark.parametrize("multivariate", [True, False])
def test_same_seed_same_trials(multivariate):
    def run(seed):
        study = hpo.create_study(sampler=TPESampler(seed=seed, multivariate=multivariate))
        study.optimize(_objective, n_trials=40)
        return [t.params for t in study.trials]
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_maximize_and_mixed_space_improve():
    study = hpo.create_study(direction="maximize", sampler=TPESampler(seed=0))
    study.optimize(lambda t: -_objective(t), n_trials=100)
    assert study.best_value > -0.6
    assert study.best_params["c"] == "b"


def test_smallest_stable_is_a_stable_sorts_prefix():
    from aimass.hpo.samplers._tpe import _smallest_stable
    rng = np.random.default_rng(0)
    for _ in range(50):
        loss = rng.integers(0, 6, 30).astype(float)
        k = int(rng.integers(1, 31))
        assert _smallest_stable(loss, k).tolist() == sorted(np.argsort(loss, kind="stable")[:k].tolist())


def test_pruned_trials_rank_by_last_intermediate_value():
    obs = Observations([hpo.StudyDirection.MINIMIZE])
    study = hpo.create_study()
    for i, (state, inter) in enumerate([("c", None), ("p", {3: 5.0}), ("p", {7: 9.0}), ("p", {7: 1.0}), ("p", {})]):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        if state == "c":
            study.tell(t, 100.0)
        else:
            for step, v in inter.items():
                t.report(v, step)
            study.tell(t, state=hpo.TrialState.PRUNED)
    obs.update(study._get_trials())
    # one complete, then pruned by (latest step, value): #3 (step 7, 1.0), #2 (step 7, 9.0), #1, #4 (no values)
    for n_below, expect in [(1, [0]), (2, [0, 3]), (3, [0, 2, 3]), (4, [0, 1, 2, 3])]:
        assert np.flatnonzero(_split(obs, n_below, False)).tolist() == expect


def test_tpe_with_pruning_runs():
    def obj(t):
        x = t.suggest_float("x", -5, 5)
        for step in range(3):
            t.report(x * x + 3 - step, step)
        if x > 1:
            raise hpo.TrialPruned()
        return x * x
    study = hpo.create_study(sampler=TPESampler(seed=0))
    study.optimize(obj, n_trials=40)
    assert any(t.state == hpo.TrialState.PRUNED for t in study.trials)
    assert study.best_value < 0.5


def test_constraints_keep_the_best_feasible():
    def obj(t):
        x = t.suggest_float("x", -5, 5)
        y = t.suggest_float("y", -5, 5)
        t.set_constraint([1.0 - x])  # feasible when x >= 1
        return x * x + y * y
    study = hpo.create_study(sampler=TPESampler(seed=2))
    study.optimize(obj, n_trials=80)
    assert study.best_trial.params["x"] >= 1.0
    assert study.best_value < 2.0
    late = [t.params["x"] for t in study.trials[40:]]
    assert np.mean(np.array(late) >= 1.0) > 0.6


def test_named_constraints_count_as_violations():
    study = hpo.create_study()
    for x, c in [(0.1, {"a": 0.5, "b": -1.0}), (0.2, {"a": -1.0}), (0.3, None)]:
        t = study.ask()
        t.suggest_float("x", 0, 1)
        for name, v in (c or {}).items():
            study._storage.set_trial_system_attr(t._trial_id, f"constraints:{name}", v)
        study.tell(t, x)
    obs = Observations([hpo.StudyDirection.MINIMIZE])
    obs.update(study._get_trials())
    assert obs.violation[:3].tolist() == [0.5, 0.0, 0.0]
    # the infeasible best value goes last: below = the feasible ones first
    assert np.flatnonzero(_split(obs, 2, False)).tolist() == [1, 2]


def test_constraints_func_is_deprecated_but_works():
    with pytest.warns(FutureWarning, match="constraints_func"):
        sampler = TPESampler(seed=0, constraints_func=lambda t: [t.params["x"] - 0.0])  # feasible: x <= 0
    study = hpo.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 2) ** 2, n_trials=40)
    assert study.trials[0].system_attrs["constraints"] == [study.trials[0].params["x"]]
    assert study.best_trial.params["x"] <= 0 and study.best_value < 4.5


def _hypervolume(study):
    vals = np.array([t.values for t in study.trials if t.state == hpo.TrialState.COMPLETE])
    return native.hypervolume(vals, np.array([2.0, 2.0]))


def test_multi_objective_tpe_beats_random_hypervolume():
    def obj(t):
        x = t.suggest_float("x", 0, 1)
        y = t.suggest_float("y", 0, 1)
        return x, (1 + 9 * y) * (1 - math.sqrt(x / (1 + 9 * y)))  # ZDT1 with two variables
    hv = {}
    for name, sampler in [("tpe", TPESampler(seed=0)), ("random", hpo.samplers.RandomSampler(seed=0))]:
        study = hpo.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(obj, n_trials=120)
        hv[name] = _hypervolume(study)
    assert hv["tpe"] > hv["random"]


def test_group_decomposed_conditional_space():
    def obj(t):
        kind = t.suggest_categorical("kind", ["a", "b"])
        if kind == "a":
            return (t.suggest_float("ya", -5, 5) - 1) ** 2
        return 1.0 + (t.suggest_int("zb", -5, 5)) ** 2
    with pytest.warns(UserWarning, match="experimental"):
        sampler = TPESampler(seed=0, multivariate=True, group=True)
    study = hpo.create_study(sampler=sampler)
    study.optimize(obj, n_trials=60)
    assert study.best_value < 0.1
    groups = sampler._group_decomposed_search_space.calculate(study)
    assert sorted(sorted(g) for g in groups) == [["kind"], ["ya"], ["zb"]]


def test_constant_liar_counts_running_trials_above():
    sampler = TPESampler(seed=0, n_startup_trials=2)
    study = hpo.create_study(sampler=sampler)
    for x in (0.0, 1.0, 2.0):
        study.enqueue_trial({"x": x})
    for _ in range(3):
        t = study.ask()
        study.tell(t, (t.suggest_float("x", -10, 10) - 1) ** 2)
    t1 = study.ask()
    x1 = t1.suggest_float("x", -10, 10)
    assert any(k.startswith("tpe:relative_params") for k in study.trials[t1.number].system_attrs)
    t2 = study.ask()  # t1 still running: its relative params are read from the storage
    _, running = sampler._observe(study, study.trials[t2.number])
    assert [r.number for r in running] == [t1.number]
    t2.suggest_float("x", -10, 10)
    study.tell(t1, (x1 - 1) ** 2)


def test_n_jobs_two_threads_runs():
    study = hpo.create_study(sampler=TPESampler(seed=0))
    study.optimize(_objective, n_trials=60, n_jobs=2)
    assert len(study.trials) == 60 and study.best_value < 3


def test_cache_reads_trials_finished_out_of_order():
    sampler = TPESampler(seed=0, n_startup_trials=0)
    study = hpo.create_study(sampler=sampler)
    trials = [study.ask() for _ in range(6)]
    for t in trials:
        t.suggest_float("x", 0, 1)
    for t in (trials[4], trials[1], trials[5]):
        study.tell(t, t.params["x"])
    extra = study.ask()
    extra.suggest_float("x", 0, 1)  # reads 1, 4, 5
    for t in (trials[0], trials[3]):
        study.tell(t, t.params["x"])
    study.tell(trials[2], state=hpo.TrialState.FAIL)
    probe = study.ask()
    probe.suggest_float("x", 0, 1)
    obs = sampler._obs
    assert sorted(obs.number[:obs.n].tolist()) == [0, 1, 3, 4, 5]
    assert obs.number[obs.order()].tolist() == [0, 1, 3, 4, 5]
    col = obs.column(("x", None))
    by_number = {t.number: t.params["x"] for t in study.trials if t.state == hpo.TrialState.COMPLETE}
    assert [obs.X[i, col] for i in obs.order()] == [by_number[k] for k in (0, 1, 3, 4, 5)]


def test_sampler_copies():
    import copy
    import pickle
    s = TPESampler(seed=5)
    study = hpo.create_study(sampler=s)
    study.optimize(_objective, n_trials=12)
    for c in (copy.deepcopy(s), pickle.loads(pickle.dumps(s))):
        hpo.create_study(sampler=c).optimize(_objective, n_trials=12)
