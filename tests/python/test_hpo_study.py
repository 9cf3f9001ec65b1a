"""am.hpo's study, trial and distribution API against Optuna 5's documented behaviour."""
from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest

import aimass.hpo as hpo
from aimass.hpo.distributions import (CategoricalDistribution, FloatDistribution, IntDistribution,
                                      check_distribution_compatibility, distribution_to_json, json_to_distribution)
from aimass.hpo.trial import TrialState

hpo.logging.set_verbosity(hpo.logging.WARNING)


def quadratic(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", -3, 3)
    return (x - 2) ** 2 + y * y


# ---------------------------------------------------------------- distributions

def test_distribution_json_round_trip_and_optuna_format():
    dists = [FloatDistribution(0.0, 1.0), FloatDistribution(1e-5, 1.0, log=True), FloatDistribution(0, 1, step=0.25),
             IntDistribution(1, 9, step=2), IntDistribution(1, 64, log=True), CategoricalDistribution(["a", 1, None])]
    for d in dists:
        assert json_to_distribution(distribution_to_json(d)) == d
    optuna = pytest.importorskip("optuna")
    for d in dists:  # the JSON Optuna writes reads as ours and back
        theirs = optuna.distributions.json_to_distribution(distribution_to_json(d))
        assert json_to_distribution(optuna.distributions.distribution_to_json(theirs)) == d


def test_distribution_internal_repr_and_contains():
    d = CategoricalDistribution(("relu", "tanh", "gelu"))
    assert d.to_internal_repr("gelu") == 2.0 and d.to_external_repr(1.0) == "tanh"
    with pytest.raises(ValueError, match="not in"):
        d.to_internal_repr("elu")
    i = IntDistribution(0, 10, step=5)
    assert i._contains(5.0) and not i._contains(4.0) and i.to_external_repr(10.0) == 10
    f = FloatDistribution(0.0, 1.0, step=0.1)
    assert f._contains(0.3) and not f._contains(0.35)
    with pytest.raises(ValueError, match="invalid value"):
        FloatDistribution(0, 1).to_internal_repr(float("nan"))


def test_distribution_bad_ranges_raise():
    with pytest.raises(ValueError, match="low <= high"):
        FloatDistribution(2, 1)
    with pytest.raises(ValueError, match="low > 0"):
        FloatDistribution(0, 1, log=True)
    with pytest.raises(ValueError, match="step"):
        FloatDistribution(1e-3, 1, log=True, step=0.1)
    with pytest.raises(ValueError, match="one or more"):
        CategoricalDistribution([])
    with pytest.warns(UserWarning, match="replaced with"):
        assert IntDistribution(0, 10, step=3).high == 9


def test_distribution_compatibility():
    check_distribution_compatibility(FloatDistribution(0, 1), FloatDistribution(0, 5))  # ranges may change
    with pytest.raises(ValueError, match="different distribution kind"):
        check_distribution_compatibility(FloatDistribution(0, 1), IntDistribution(0, 1))
    with pytest.raises(ValueError, match="log configuration"):
        check_distribution_compatibility(FloatDistribution(0.1, 1), FloatDistribution(0.1, 1, log=True))
    with pytest.raises(ValueError, match="dynamic value space"):
        check_distribution_compatibility(CategoricalDistribution("ab"), CategoricalDistribution("abc"))


# ---------------------------------------------------------------- studies and trials

def test_optimize_records_every_trial_and_best():
    study = hpo.create_study(sampler=hpo.samplers.RandomSampler(seed=0))
    study.optimize(quadratic, n_trials=60)
    trials = study.trials
    assert len(trials) == 60 and [t.number for t in trials] == list(range(60))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    values = [t.value for t in trials]
    assert study.best_value == min(values)
    assert study.best_trial.number == int(np.argmin(values))
    best = study.best_params
    assert study.best_value == pytest.approx((best["x"] - 2) ** 2 + best["y"] ** 2)
    for t in trials:  # every record's value is the objective at its parameters
        assert t.value == pytest.approx((t.params["x"] - 2) ** 2 + t.params["y"] ** 2)
        assert -10 <= t.params["x"] <= 10 and isinstance(t.params["y"], int)
        assert t.datetime_complete >= t.datetime_start


def test_maximize_direction_and_bad_direction():
    study = hpo.create_study(direction="maximize", sampler=hpo.samplers.RandomSampler(seed=1))
    study.optimize(quadratic, n_trials=30)
    assert study.best_value == max(t.value for t in study.trials)
    assert study.direction == hpo.StudyDirection.MAXIMIZE
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        hpo.create_study(direction="up")
    with pytest.raises(ValueError, match="only one of"):
        hpo.create_study(direction="minimize", directions=["minimize"])


def test_no_trials_completed_yet():
    study = hpo.create_study()
    with pytest.raises(ValueError, match="No trials are completed yet"):
        study.best_trial


def test_failed_objective_is_recorded_and_raised_unless_caught():
    study = hpo.create_study()

    def bad(trial):
        trial.suggest_float("x", 0, 1)
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        study.optimize(bad, n_trials=3)
    assert [t.state for t in study.trials] == [TrialState.FAIL]  # stopped at the first
    study.optimize(bad, n_trials=2, catch=(ZeroDivisionError,))
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3
    assert study.trials[-1].values is None and "x" in study.trials[-1].params


def test_nan_or_wrong_count_values_fail_the_trial():
    study = hpo.create_study()
    study.optimize(lambda t: float("nan"), n_trials=1)
    study.optimize(lambda t: (1.0, 2.0), n_trials=1)
    study.optimize(lambda t: "x", n_trials=1)
    study.optimize(lambda t: None, n_trials=1)
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 4


def test_pruned_trial_keeps_last_intermediate_value():
    study = hpo.create_study()

    def objective(trial):
        for step in range(3):
            trial.report(10.0 - step, step)
        raise hpo.TrialPruned()

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == TrialState.PRUNED and t.value == 8.0 and t.intermediate_values == {0: 10.0, 1: 9.0, 2: 8.0}
    assert t.last_step == 2


def test_report_rules():
    study = hpo.create_study()
    trial = study.ask()
    trial.report(1.0, 0)
    with pytest.warns(UserWarning, match="already reported"):
        trial.report(2.0, 0)
    with pytest.raises(ValueError, match="cannot be negative"):
        trial.report(1.0, -1)
    with pytest.raises(TypeError, match="float"):
        trial.report("high", 1)
    assert study.get_trials(deepcopy=False)[0].intermediate_values == {0: 1.0}


def test_suggest_same_name_returns_first_value_and_kind_change_raises():
    study = hpo.create_study(sampler=hpo.samplers.RandomSampler(seed=3))
    trial = study.ask()
    x = trial.suggest_float("x", 0, 1)
    assert trial.suggest_float("x", 0, 1) == x
    with pytest.warns(RuntimeWarning, match="Inconsistent parameter values"):
        assert trial.suggest_float("x", 0, 2) == x
    with pytest.raises(ValueError, match="different distribution kind"):
        trial.suggest_int("x", 0, 1)
    study.tell(trial, 1.0)
    trial2 = study.ask()  # across trials of one study, too
    with pytest.raises(ValueError, match="different distribution kind"):
        trial2.suggest_categorical("x", [0, 1])


def test_deprecated_suggest_api_warns_and_works():
    study = hpo.create_study(sampler=hpo.samplers.RandomSampler(seed=4))
    trial = study.ask()
    with pytest.warns(FutureWarning):
        u = trial.suggest_uniform("u", 0, 1)
    with pytest.warns(FutureWarning):
        lu = trial.suggest_loguniform("lu", 1e-3, 1)
    with pytest.warns(FutureWarning):
        q = trial.suggest_discrete_uniform("q", 0, 1, 0.25)
    assert 0 <= u <= 1 and 1e-3 <= lu <= 1 and q in (0, 0.25, 0.5, 0.75, 1.0)
    assert trial.distributions["lu"] == FloatDistribution(1e-3, 1, log=True)


def test_ask_tell_and_its_errors():
    study = hpo.create_study()
    trial = study.ask({"lr": FloatDistribution(1e-4, 1e-1, log=True)})
    assert 1e-4 <= trial.params["lr"] <= 1e-1
    frozen = study.tell(trial, 0.5)
    assert frozen.state == TrialState.COMPLETE and frozen.value == 0.5
    with pytest.raises(ValueError, match="Cannot tell a COMPLETE trial"):
        study.tell(trial, 0.4)
    assert study.tell(trial, 0.4, skip_if_finished=True).value == 0.5
    t2 = study.ask()
    with pytest.raises(ValueError, match="Values are required"):
        study.tell(t2, state=TrialState.COMPLETE)
    with pytest.raises(ValueError, match="Values cannot be specified"):
        study.tell(t2, 1.0, state=TrialState.PRUNED)
    assert study.tell(t2.number, state=TrialState.FAIL).state == TrialState.FAIL
    with pytest.raises(ValueError, match="has not been created"):
        study.tell(99, 1.0)


def test_enqueue_trial_is_taken_once_and_fixes_params():
    study = hpo.create_study(sampler=hpo.samplers.RandomSampler(seed=5))
    study.enqueue_trial({"x": 2.0, "y": 0}, user_attrs={"source": "prior run"})
    study.enqueue_trial({"x": 2.0, "y": 0}, skip_if_exists=True)  # already queued: skipped
    study.enqueue_trial({"x": -1.0})
    study.optimize(quadratic, n_trials=4)
    trials = study.trials
    assert len(trials) == 4
    assert trials[0].params == {"x": 2.0, "y": 0} and trials[0].value == 0.0
    assert trials[0].user_attrs == {"source": "prior run"}
    assert trials[1].params["x"] == -1.0 and -3 <= trials[1].params["y"] <= 3
    assert study.best_value == 0.0


def test_enqueued_trials_each_run_exactly_once_across_threads():
    study = hpo.create_study()
    for i in range(40):
        study.enqueue_trial({"x": float(i) / 10})
    seen = []
    lock = threading.Lock()

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        with lock:
            seen.append(x)
        return x

    study.optimize(objective, n_trials=40, n_jobs=4)
    assert sorted(seen) == [i / 10 for i in range(40)]
    assert len(study.trials) == 40


def test_n_jobs_runs_n_trials_and_timeout_stops():
    study = hpo.create_study()
    study.optimize(quadratic, n_trials=25, n_jobs=3)
    assert len(study.trials) == 25 and len({t.number for t in study.trials}) == 25
    study2 = hpo.create_study()
    import time
    start = time.monotonic()
    study2.optimize(lambda t: time.sleep(0.01) or 1.0, timeout=0.2)
    assert time.monotonic() - start < 1.0 and 3 <= len(study2.trials) <= 25


def test_stop_and_callbacks():
    study = hpo.create_study()
    seen = []

    def callback(study, frozen):
        seen.append(frozen.number)
        if frozen.number == 4:
            study.stop()

    study.optimize(quadratic, n_trials=100, callbacks=[callback])
    assert seen == [0, 1, 2, 3, 4] and len(study.trials) == 5


def test_add_trial_and_create_trial_validation():
    study = hpo.create_study()
    study.add_trial(hpo.create_trial(params={"x": 2.0}, distributions={"x": FloatDistribution(0, 5)}, value=0.25))
    study.add_trials([hpo.create_trial(params={"x": 1.0}, distributions={"x": FloatDistribution(0, 5)}, value=1.0)])
    assert [t.value for t in study.trials] == [0.25, 1.0] and study.best_params == {"x": 2.0}
    with pytest.raises(ValueError, match="isn't contained"):
        study.add_trial(hpo.create_trial(params={"x": 9.0}, distributions={"x": FloatDistribution(0, 5)}, value=1.0))
    with pytest.raises(ValueError, match="values should be set"):
        study.add_trial(hpo.create_trial(state=TrialState.COMPLETE))


def test_multi_objective_best_trials_is_the_pareto_front():
    study = hpo.create_study(directions=["minimize", "maximize"], sampler=hpo.samplers.RandomSampler(seed=6))
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=80)
    values = np.array([t.values for t in study.trials])
    front = {t.number for t in study.best_trials}
    for i, (a, b) in enumerate(values):  # brute-force domination check
        dominated = np.any((values[:, 0] <= a) & (values[:, 1] >= b) & ((values[:, 0] < a) | (values[:, 1] > b)))
        assert (i in front) == (not dominated)
    with pytest.raises(RuntimeError, match="multi-objective"):
        study.best_trial
    with pytest.raises(NotImplementedError):
        study.ask().report(1.0, 0)


def test_constraints_exclude_infeasible_best():
    study = hpo.create_study()
    for x, c in [(0.0, 1.0), (1.0, -1.0), (2.0, 0.0)]:
        t = study.ask()
        t.suggest_float("x", 0, 5)
        t.set_constraint("c", c)
        with pytest.warns(UserWarning, match="already set"):
            t.set_constraint("c", 5.0)
        study.tell(t, x)
    assert study.best_value == 1.0  # trial 0 has the lowest value but violates its constraint
    assert study.trials[0].constraints == {"c": 1.0}
    t = study.ask()
    t.suggest_float("x", 0, 5)
    t.set_constraint([2.0, -1.0])  # the list form, as a constraints_func returns
    with pytest.raises(ValueError, match="NaN"):
        t.set_constraint("d", float("nan"))
    study.tell(t, -5.0)
    assert study.trials[-1].constraints == {"0": 2.0, "1": -1.0} and study.best_value == 1.0


def test_study_attrs_load_delete_summaries():
    from aimass.hpo.storages import InMemoryStorage
    storage = InMemoryStorage()
    study = hpo.create_study(study_name="s1", storage=storage)
    study.set_user_attr("dataset", "digits")
    study.optimize(quadratic, n_trials=5)
    with pytest.raises(hpo.exceptions.DuplicatedStudyError):
        hpo.create_study(study_name="s1", storage=storage)
    again = hpo.create_study(study_name="s1", storage=storage, load_if_exists=True)
    assert len(again.trials) == 5 and again.user_attrs == {"dataset": "digits"}
    loaded = hpo.load_study(study_name=None, storage=storage)
    assert loaded.best_value == study.best_value
    (summary,) = hpo.get_all_study_summaries(storage)
    assert summary.n_trials == 5 and summary.best_trial.value == study.best_value and summary.study_name == "s1"
    other = InMemoryStorage()
    hpo.copy_study(from_study_name="s1", from_storage=storage, to_storage=other, to_study_name="s2")
    copied = hpo.load_study(study_name="s2", storage=other)
    assert [t.params for t in copied.trials] == [t.params for t in study.trials]
    assert copied.user_attrs == {"dataset": "digits"}
    hpo.delete_study(study_name="s1", storage=storage)
    with pytest.raises(KeyError, match="s1"):
        hpo.load_study(study_name="s1", storage=storage)


def test_trials_dataframe_columns():
    pytest.importorskip("pandas")
    study = hpo.create_study()
    study.optimize(quadratic, n_trials=3)
    df = study.trials_dataframe()
    assert list(df["number"]) == [0, 1, 2]
    assert {"value", "params_x", "params_y", "state", "duration"} <= set(df.columns)
    assert list(df["value"]) == [t.value for t in study.trials]


def test_fixed_and_frozen_trials_replay_an_objective():
    assert quadratic(hpo.FixedTrial({"x": 2.0, "y": 1})) == 1.0
    with pytest.raises(ValueError, match="not found"):
        quadratic(hpo.FixedTrial({"x": 2.0}))
    study = hpo.create_study()
    study.optimize(quadratic, n_trials=3)
    best = study.best_trial
    assert quadratic(best) == pytest.approx(best.value)


def test_progress_bar_and_gc_after_trial(capsys):
    study = hpo.create_study()
    study.optimize(quadratic, n_trials=5, show_progress_bar=True, gc_after_trial=True)
    assert len(study.trials) == 5
    assert "Best trial" in capsys.readouterr().err


def test_logging_reports_finished_trials(capsys):
    hpo.logging.set_verbosity(hpo.logging.INFO)
    try:
        study = hpo.create_study()
        study.optimize(quadratic, n_trials=2)
    finally:
        hpo.logging.set_verbosity(hpo.logging.WARNING)
    err = capsys.readouterr().err
    assert "Trial 0 finished with value" in err and "Best is trial" in err


def test_a_user_objective_runs_unchanged_with_optuna_import_swapped():
    import aimass.hpo as optuna  # noqa: the one changed line

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
        act = trial.suggest_categorical("activation", ["relu", "tanh", "gelu"])
        units = trial.suggest_int("units", 16, 256, log=True)
        return -abs(math.log10(lr) + 3) - dropout + (act == "relu") + units / 256

    study = optuna.create_study(direction="maximize")
    study.optimize(objective, n_trials=30)
    assert set(study.best_params) == {"lr", "dropout", "activation", "units"}
    assert study.best_value == max(t.value for t in study.trials)


def test_in_memory_storage_rejects_updates_to_finished_trials():
    study = hpo.create_study()
    study.optimize(quadratic, n_trials=1)
    t = study.trials[0]
    with pytest.raises(hpo.exceptions.UpdateFinishedTrialError):
        study._storage.set_trial_user_attr(t._trial_id, "k", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not study._storage.set_trial_state_values(study.ask()._trial_id, TrialState.RUNNING)


def test_max_trials_callback_counts_completed_trials():
    study = hpo.create_study()
    study.optimize(lambda t: 1 / 0, n_trials=3, catch=(ZeroDivisionError,))
    study.optimize(quadratic, n_trials=50, callbacks=[hpo.study.MaxTrialsCallback(5)])
    assert study.get_trials(states=(TrialState.COMPLETE,)).__len__() == 5 and len(study.trials) == 8


def test_partial_fixed_sampler_fixes_some_parameters():
    sampler = hpo.samplers.PartialFixedSampler({"y": 2}, hpo.samplers.RandomSampler(seed=7))
    study = hpo.create_study(sampler=sampler)
    study.optimize(quadratic, n_trials=10)
    assert {t.params["y"] for t in study.trials} == {2}
    assert len({t.params["x"] for t in study.trials}) == 10


def test_taking_a_trial_someone_finished_is_false_not_an_error():
    study = hpo.create_study()
    study.enqueue_trial({"x": 1.0})
    (waiting_id,) = study._storage.get_waiting_trial_ids(study._study_id)
    trial = study.ask()  # takes the enqueued one
    study.tell(trial, 1.0)
    assert study._storage.set_trial_state_values(waiting_id, TrialState.RUNNING) is False
