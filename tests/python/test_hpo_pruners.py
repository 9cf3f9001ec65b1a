"""am.hpo.pruners against Optuna 5.1's pruners: the same trials, reported in the same interleaved
order, must get the same prune decisions (and, for ASHA, the same rung records)."""
import math
import warnings

import numpy as np
import pytest

import aimass.hpo as ah

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _pair(name):
    """(aimass, optuna) pruner factories of the same configuration."""
    return lambda mod: {
        "median": lambda: mod.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2, interval_steps=3),
        "median_min": lambda: mod.pruners.MedianPruner(n_startup_trials=0, n_min_trials=3),
        "percentile": lambda: mod.pruners.PercentilePruner(25.0, n_startup_trials=3, n_warmup_steps=1),
        "percentile_90": lambda: mod.pruners.PercentilePruner(90.0, n_startup_trials=1, interval_steps=2),
        "sha": lambda: mod.pruners.SuccessiveHalvingPruner(),
        "sha_fixed": lambda: mod.pruners.SuccessiveHalvingPruner(min_resource=2, reduction_factor=2,
                                                                 min_early_stopping_rate=1),
        "sha_bootstrap": lambda: mod.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3,
                                                                     bootstrap_count=2),
        "hyperband": lambda: mod.pruners.HyperbandPruner(min_resource=1, max_resource=30, reduction_factor=3),
        "hyperband_auto": lambda: mod.pruners.HyperbandPruner(),
        "threshold": lambda: mod.pruners.ThresholdPruner(lower=0.1, upper=0.9, n_warmup_steps=2, interval_steps=2),
        "patient": lambda: mod.pruners.PatientPruner(None, patience=2, min_delta=0.01),
        "patient_median": lambda: mod.pruners.PatientPruner(mod.pruners.MedianPruner(n_startup_trials=1), patience=1),
        "wilcoxon": lambda: mod.pruners.WilcoxonPruner(p_threshold=0.2, n_startup_steps=3),
    }[name]()


def _run(mod, pruner, direction, plan):
    """Run plan (a list of (trial slot, value or None = finish)) on a study of mod; returns every decision."""
    study = mod.create_study(study_name="pruning-study", direction=direction, pruner=pruner)
    running, steps, decisions = {}, {}, []
    for slot, value in plan:
        if slot not in running:
            running[slot] = study.ask()
            steps[slot] = 0
        trial = running[slot]
        if value is None:
            study.tell(trial, 0.5)
            del running[slot]
            continue
        trial.report(value, steps[slot])
        steps[slot] += 1 + (steps[slot] % 3 == 2)  # some gaps in the steps
        pruned = trial.should_prune()
        decisions.append(pruned)
        if pruned:
            study.tell(trial, state=mod.trial.TrialState.PRUNED)
            del running[slot]
    attrs = [{k: v for k, v in t.system_attrs.items() if k.startswith("completed_rung")} for t in study.trials]
    return decisions, attrs


def _plan(rng, n_trials=20, max_steps=30, nan_rate=0.03):
    """Trials run four at a time, their reports interleaved at random."""
    plan, pending, slot = [], [], 0
    while slot < n_trials or pending:
        while len(pending) < 4 and slot < n_trials:
            pending.append([slot, int(rng.integers(3, max_steps))])
            slot += 1
        k = int(rng.integers(len(pending)))
        s, left = pending[k]
        if left == 0:
            plan.append((s, None))
            pending.pop(k)
        else:
            v = float(rng.random()) if rng.random() > nan_rate else math.nan
            plan.append((s, round(v, 2) if rng.random() < 0.3 else v))  # some ties
            pending[k][1] -= 1
    return plan


@pytest.mark.parametrize("name", ["median", "median_min", "percentile", "percentile_90", "sha", "sha_fixed",
                                  "sha_bootstrap", "hyperband", "hyperband_auto", "threshold", "patient",
                                  "patient_median", "wilcoxon"])
@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_decisions_match_optuna(name, direction):
    make = _pair(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning, NaN RuntimeWarnings
        n_pruned = 0
        for seed in range(2 if name == "wilcoxon" else 4):  # Optuna's Wilcoxon runs scipy per report: slow
            plan = _plan(np.random.default_rng(seed))
            ours, our_attrs = _run(ah, make(ah), direction, plan)
            theirs, their_attrs = _run(optuna, make(optuna), direction, plan)
            assert ours == theirs, f"seed {seed}: first difference at report {next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)}"
            assert our_attrs == their_attrs
            n_pruned += sum(ours)
        assert n_pruned > 0  # the cases exercise pruning


def test_median_prunes_the_worse_trial():
    study = ah.create_study(pruner=ah.pruners.MedianPruner(n_startup_trials=1))
    for v in (1.0, 2.0, 3.0):
        study.add_trial(ah.create_trial(value=v, intermediate_values={0: v}))
    good, bad = study.ask(), study.ask()
    good.report(1.5, 0)
    bad.report(2.5, 0)
    assert not good.should_prune() and bad.should_prune()


def test_hyperband_brackets_and_filtered_study_match_optuna():
    ours = ah.pruners.HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    theirs = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=81, reduction_factor=3)
    s_ours = ah.create_study(study_name="hb", pruner=ours)
    s_theirs = optuna.create_study(study_name="hb", pruner=theirs)
    ours._try_initialization(s_ours)
    theirs._try_initialization(s_theirs)
    assert ours._trial_allocation_budgets == theirs._trial_allocation_budgets
    for number in range(300):
        t_ours = ah.create_trial(value=0.0)
        t_ours.number = number
        t_theirs = optuna.trial.create_trial(value=0.0)
        t_theirs.number = number
        assert ours._get_bracket_id(s_ours, t_ours) == theirs._get_bracket_id(s_theirs, t_theirs)
    for v in range(20):
        s_ours.add_trial(ah.create_trial(value=float(v)))
    trial = s_ours.trials[7]
    filtered = ah.pruners._filter_study(s_ours, trial)
    bracket = ours._get_bracket_id(s_ours, trial)
    assert [t.number for t in filtered.get_trials()] == [
        t.number for t in s_ours.trials if ours._get_bracket_id(s_ours, t) == bracket]
    assert len(filtered._get_trials()) == 20  # as Optuna's: samplers' _get_trials is not filtered
    with pytest.raises(AttributeError, match="does not have attribute of 'optimize'"):
        filtered.optimize
    assert ah.pruners._filter_study(ah.create_study(), trial) is not None


@pytest.mark.parametrize("make, match", [
    (lambda: ah.pruners.PercentilePruner(101), "Percentile must be between 0 and 100"),
    (lambda: ah.pruners.MedianPruner(n_startup_trials=-1), "startup trials cannot be negative"),
    (lambda: ah.pruners.MedianPruner(interval_steps=0), "at least 1"),
    (lambda: ah.pruners.MedianPruner(n_min_trials=0), "n_min_trials=0"),
    (lambda: ah.pruners.SuccessiveHalvingPruner(reduction_factor=1), "reduction_factor >= 2"),
    (lambda: ah.pruners.SuccessiveHalvingPruner(bootstrap_count=1), "mutually incompatible"),
    (lambda: ah.pruners.HyperbandPruner(max_resource="big"), "integer or 'auto'"),
    (lambda: ah.pruners.ThresholdPruner(lower=1.0, upper=0.0), "lower should be smaller"),
    (lambda: ah.pruners.PatientPruner(None, patience=-1), "patience cannot be negative"),
    (lambda: ah.pruners.WilcoxonPruner(p_threshold=2.0), "p_threshold must be between 0 and 1"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_threshold_needs_a_bound():
    with pytest.raises(TypeError, match="Either lower or upper"):
        ah.pruners.ThresholdPruner()


def test_native_percentile_matches_numpy():
    from aimass import _core
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.random(int(rng.integers(1, 30)))
        x[rng.random(x.size) < 0.2] = np.nan
        q = float(rng.choice([0.0, 100.0, 50.0, rng.random() * 100]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.nanpercentile(x, q)
        got = _core.hpo.nan_percentile(x, q)
        assert (math.isnan(expected) and math.isnan(got)) or got == expected


def test_native_wilcoxon_matches_scipy():
    ss = pytest.importorskip("scipy.stats")
    from aimass import _core
    rng = np.random.default_rng(1)
    for _ in range(40):
        d = rng.normal(0.2, 1.0, int(rng.integers(2, 60)))
        if rng.random() < 0.5:
            d = np.round(d, 1)  # ties and zeros: the permutation and normal branches
        for alt in ("greater", "less"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = ss.wilcoxon(d, alternative=alt, zero_method="zsplit").pvalue
            assert _core.hpo.wilcoxon_signed_rank_pvalue(d, alt == "greater") == pytest.approx(expected, rel=1e-9,
                                                                                                 abs=1e-14)


def test_pruners_pickle():
    import pickle
    p = pickle.loads(pickle.dumps(ah.pruners.MedianPruner(3)))
    assert p._n_startup_trials == 3


def test_samplers_see_the_hyperband_bracket():
    seen = []

    class Recording(ah.samplers.RandomSampler):
        def sample_independent(self, study, trial, name, distribution):
            seen.append((trial.number, type(study).__name__, len(study.get_trials(deepcopy=False))))
            return super().sample_independent(study, trial, name, distribution)

    pruner = ah.pruners.HyperbandPruner(min_resource=1, max_resource=9, reduction_factor=3)
    study = ah.create_study(study_name="bracketed", sampler=Recording(seed=0), pruner=pruner)
    pruner._try_initialization(study)  # (else done by the first prune)
    for _ in range(12):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, 0.0)
    assert all(kind == "_BracketStudy" for _, kind, _ in seen)
    # each trial's sampler sees only the trials of its bracket
    for number, _, n_seen in seen:
        bracket = pruner._bracket_ids("bracketed", number + 1)[number]
        assert n_seen == sum(pruner._bracket_ids("bracketed", 12)[k] == bracket for k in range(number + 1))
