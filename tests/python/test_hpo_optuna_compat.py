"""am.hpo and Optuna 5 share storages: a study Optuna wrote (SQLite, PostgreSQL, journal) opens in
aimass with every field equal, and aimass continues it (taking Optuna's enqueued trial); a study
aimass wrote opens in Optuna the same way."""
from __future__ import annotations

import json
import math

import pytest
from hpo_storage_fixtures import postgres_url, rdb_url  # noqa: F401  (fixtures)

import aimass.hpo as hpo

optuna = pytest.importorskip("optuna")
optuna.logging.set_verbosity(optuna.logging.WARNING)
hpo.logging.set_verbosity(hpo.logging.WARNING)


def objective(trial):
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    n = trial.suggest_int("n", 1, 9, step=2)
    act = trial.suggest_categorical("act", ["relu", "tanh", None])
    trial.report(x * 2, 0)
    trial.report(math.inf, 1)
    trial.set_user_attr("tag", {"n": n})
    if trial.number == 2:
        raise optuna.TrialPruned() if isinstance(trial, optuna.trial.Trial) else hpo.TrialPruned()
    if trial.number == 3:
        return -math.inf
    return x * x + lr + n + (act is None)


def fields(t, lib):
    """A FrozenTrial of either library as plain data."""
    to_json = lib.distributions.distribution_to_json
    return {"number": t.number, "state": t.state.name, "values": t.values, "params": t.params,
            "distributions": {k: json.loads(to_json(d)) for k, d in t.distributions.items()},
            "user_attrs": t.user_attrs, "system_attrs": t.system_attrs,
            "intermediate_values": t.intermediate_values, "start": t.datetime_start, "complete": t.datetime_complete}


def _storages(kind, url, tmp_path):
    """(optuna's storage, aimass's storage) on the same database or journal file."""
    if kind == "journal":
        path = str(tmp_path / "journal.log")
        return (lambda: optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(path)),
                lambda: hpo.storages.JournalStorage(hpo.storages.JournalFileBackend(path)))
    return lambda: url, lambda: url


def _run(lib, storage, create):
    if create:
        study = lib.create_study(storage=storage, study_name="s", direction="minimize")
        study.set_user_attr("owner", "me")
        study.enqueue_trial({"x": 1.0, "lr": 1e-3, "n": 3, "act": "tanh"})
    else:
        study = lib.load_study(study_name="s", storage=storage)
    study.optimize(objective, n_trials=5, catch=(ValueError,))
    study.enqueue_trial({"x": -2.0, "lr": 1e-2, "n": 5, "act": None})  # left WAITING for the other library
    return study


@pytest.mark.parametrize("kind", ["rdb", "journal"])
@pytest.mark.parametrize("first", ["optuna", "aimass"])
def test_both_directions(kind, first, rdb_url, tmp_path):
    if kind == "journal" and "postgresql" in rdb_url:
        pytest.skip("the journal needs no database")
    opt_storage, our_storage = _storages(kind, rdb_url, tmp_path)
    libs = {"optuna": (optuna, opt_storage), "aimass": (hpo, our_storage)}
    second = "aimass" if first == "optuna" else "optuna"
    a = _run(libs[first][0], libs[first][1](), create=True)
    written = [fields(t, libs[first][0]) for t in a.trials]
    b = libs[second][0].load_study(study_name="s", storage=libs[second][1]())
    read = [fields(t, libs[second][0]) for t in b.trials]
    assert read == written
    assert b.user_attrs == {"owner": "me"} and b.best_value == -math.inf
    assert [t["state"] for t in read] == ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE", "COMPLETE", "WAITING"]
    _run(libs[second][0], libs[second][1](), create=False)  # continues: takes the WAITING trial first
    again = [fields(t, libs[first][0]) for t in libs[first][0].load_study(study_name="s",
                                                                         storage=libs[first][1]()).trials]
    assert len(again) == 11 and again[:5] == written[:5]
    assert again[5]["state"] == "COMPLETE" and again[5]["params"] == {"x": -2.0, "lr": 1e-2, "n": 5, "act": None}
    assert [t["number"] for t in again] == list(range(11)) and again[10]["state"] == "WAITING"
