"""am.hpo.importance: PED-ANOVA equal to Optuna's on the same trials; fANOVA finds the parameter the
objective depends on."""
import warnings

import numpy as np
import pytest

import aimass.hpo as ah
from aimass import _core
from aimass.hpo.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator, get_param_importances

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _trials(mod, seed, n=120, conditional=False):
    """Random trials of x (float), lx (log float), k (int), c (categorical); the value depends on x and c."""
    rng = np.random.default_rng(seed)
    d = mod.distributions
    dists = {"x": d.FloatDistribution(-5, 5), "lx": d.FloatDistribution(1e-3, 1.0, log=True),
             "k": d.IntDistribution(1, 8), "c": d.CategoricalDistribution(["a", "b", "c"]),
             "q": d.FloatDistribution(0, 1, step=0.25)}
    out = []
    for _ in range(n):
        p = {"x": float(rng.uniform(-5, 5)), "lx": float(np.exp(rng.uniform(np.log(1e-3), 0))),
             "k": int(rng.integers(1, 9)), "c": str(rng.choice(["a", "b", "c"])), "q": float(rng.integers(0, 5) / 4)}
        names = list(p) if not conditional or p["c"] != "a" else ["x", "lx", "c"]
        value = p["x"] ** 2 + (1.0 if p["c"] == "b" else 0.0) + 0.1 * rng.random()
        out.append(mod.trial.create_trial(params={k: p[k] for k in names}, distributions={k: dists[k] for k in names},
                                          value=value))
    return out


def _study(mod, trials, direction="minimize"):
    study = mod.create_study(direction=direction)
    study.add_trials(trials)
    return study


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kwargs", [{}, {"target_quantile": 0.2, "region_quantile": 0.6},
                                    {"evaluate_on_local": False}])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_ped_anova_matches_optuna(seed, kwargs, direction):
    ours = _study(ah, _trials(ah, seed), direction)
    theirs = _study(optuna, _trials(optuna, seed), direction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = get_param_importances(ours, evaluator=PedAnovaImportanceEvaluator(**kwargs), normalize=False)
        expected = optuna.importance.get_param_importances(
            theirs, evaluator=optuna.importance.PedAnovaImportanceEvaluator(**kwargs), normalize=False)
    assert set(got) == set(expected)
    for name in got:
        assert got[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name
    assert list(got.values()) == sorted(got.values(), reverse=True)


def test_ped_anova_conditional_params_and_target_match_optuna():
    ours = _study(ah, _trials(ah, 7, conditional=True))
    theirs = _study(optuna, _trials(optuna, 7, conditional=True))
    target = lambda t: -t.value  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = get_param_importances(ours, target=target)
        expected = optuna.importance.get_param_importances(theirs, target=target)
    assert got == pytest.approx(expected, rel=1e-9)


def test_parzen_estimator_matches_optuna():
    from optuna.distributions import CategoricalDistribution, IntDistribution
    from optuna.importance._ped_anova.scott_parzen_estimator import ScottParzenEstimator
    rng = np.random.default_rng(0)
    for _ in range(30):
        size = int(rng.integers(2, 50))
        counts = rng.integers(0, 4, size) * (rng.random(size) < 0.4)
        counts[int(rng.integers(size))] += 1
        obs = np.flatnonzero(counts)
        for categorical in (False, True):
            space = CategoricalDistribution(list(range(size))) if categorical else IntDistribution(0, size - 1)
            pe = ScottParzenEstimator(obs, space, counts[obs], 1.0)
            np.testing.assert_allclose(_core.hpo.parzen_pdf_on_grid(counts, categorical), pe.pdf(np.arange(size)),
                                       rtol=1e-9, atol=1e-15)


def _xy_study(n=150, seed=0):
    study = ah.create_study(sampler=ah.samplers.RandomSampler(seed=seed))
    study.optimize(lambda t: t.suggest_float("x", -3, 3) ** 2 + 0.01 * t.suggest_float("y", -3, 3), n_trials=n)
    return study


def test_fanova_x_dominates():
    imp = get_param_importances(_xy_study(), evaluator=FanovaImportanceEvaluator(seed=0))
    assert list(imp) == ["x", "y"]
    assert imp["x"] > 0.8 and sum(imp.values()) == pytest.approx(1.0)
    again = get_param_importances(_xy_study(), evaluator=FanovaImportanceEvaluator(seed=0))
    assert again == imp  # seeded: reproducible


def test_fanova_with_categorical_and_int():
    study = ah.create_study(sampler=ah.samplers.RandomSampler(seed=1))

    def objective(t):
        c = t.suggest_categorical("c", ["lo", "mid", "hi"])
        k = t.suggest_int("k", 0, 10)
        return {"lo": 0.0, "mid": 5.0, "hi": 10.0}[c] + 0.01 * k

    study.optimize(objective, n_trials=100)
    imp = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0, n_trees=16))
    assert imp["c"] > 0.9


def test_default_evaluator_is_ped_anova_and_x_dominates():
    imp = get_param_importances(_xy_study())
    assert list(imp) == ["x", "y"] and imp["x"] > 0.8


def test_params_and_errors():
    study = _xy_study(30)
    assert set(get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=0), params=["y"])) == {"y"}
    with pytest.raises(ValueError, match="Missing parameters: \\['z'\\]"):
        get_param_importances(study, params=["z"])
    with pytest.raises(TypeError, match="must be specified as a list"):
        get_param_importances(study, params="x")
    with pytest.raises(TypeError, match="subclass of BaseImportanceEvaluator"):
        get_param_importances(study, evaluator=object())
    with pytest.raises(ValueError, match="target_quantile"):
        PedAnovaImportanceEvaluator(target_quantile=0.5, region_quantile=0.5)
    flat = ah.create_study()
    flat.optimize(lambda t: t.suggest_float("x", 0, 1) * 0.0, n_trials=5)
    with pytest.raises(RuntimeError, match="zero total variance"):
        get_param_importances(flat, evaluator=FanovaImportanceEvaluator(seed=0))
