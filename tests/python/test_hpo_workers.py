"""Many worker processes on one study (SQLite, the journal, PostgreSQL): no trial lost, none run
twice, each enqueued trial taken once; a worker killed with SIGKILL mid-trial has its trial marked
FAIL after the grace period and re-queued by RetryFailedTrialCallback; a study resumes after a crash."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from hpo_storage_fixtures import fresh_postgres, postgres_url  # noqa: F401  (fixtures)

import aimass
import aimass.hpo as hpo
from aimass.hpo.storages import JournalFileBackend, JournalStorage, RDBStorage, RetryFailedTrialCallback
from aimass.hpo.trial import TrialState

# The workers import the aimass this test imported (the source tree, an installed package, a build).
PYTHON_PATH = os.path.dirname(os.path.dirname(os.path.abspath(aimass.__file__)))
_spawned: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap_workers():
    """Every worker a test started is gone, and its pipe closed, when the test ends, pass or fail."""
    yield
    while _spawned:
        proc = _spawned.pop()
        if proc.poll() is None:
            proc.kill()
        if proc.stderr is not None and not proc.stderr.closed:
            proc.communicate()
        proc.wait()

WORKER = textwrap.dedent("""
    import os, sys, time
    import aimass.hpo as hpo
    from aimass.hpo.storages import JournalFileBackend, JournalStorage, RDBStorage, RetryFailedTrialCallback
    hpo.logging.set_verbosity(hpo.logging.WARNING)
    kind, where, n, log, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    if kind == "journal":
        storage = JournalStorage(JournalFileBackend(where))
    else:
        storage = RDBStorage(where, heartbeat_interval=1, grace_period=1,
                             failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
    study = hpo.load_study(study_name="s", storage=storage)
    def objective(trial):
        x = trial.suggest_float("x", 0, 100)
        with open(log, "a") as f:
            f.write(f"{trial.number}\\n")
        if mode == "hang":
            open(log + ".ready", "w").close()
            time.sleep(60)
        return x
    study.optimize(objective, n_trials=n)
""")


def _storage(kind: str, where: str):
    return JournalStorage(JournalFileBackend(where)) if kind == "journal" else RDBStorage(where)


@pytest.fixture(params=["sqlite", "journal", "postgresql"])
def shared(request, tmp_path):
    if request.param == "postgresql":
        url, drop = fresh_postgres(request.getfixturevalue("postgres_url"))
        yield "rdb", url
        drop()
    elif request.param == "sqlite":
        yield "rdb", f"sqlite:///{tmp_path / 'study.db'}"
    else:
        yield "journal", str(tmp_path / "journal.log")


def _spawn(kind, where, n, log, mode="run"):
    env = {**os.environ, "PYTHONPATH": os.path.abspath(PYTHON_PATH)}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, kind, where, str(n), str(log), mode], env=env,
                            stderr=subprocess.PIPE, text=True)
    _spawned.append(proc)
    return proc


def test_four_workers_lose_nothing_and_run_nothing_twice(shared, tmp_path):
    kind, where = shared
    study = hpo.create_study(storage=_storage(kind, where), study_name="s")
    enqueued = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    for x in enqueued:
        study.enqueue_trial({"x": x})
    procs = [_spawn(kind, where, 12, tmp_path / f"log{i}") for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    trials = hpo.load_study(study_name="s", storage=_storage(kind, where)).trials
    assert [t.number for t in trials] == list(range(48))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    run = sorted(int(n) for i in range(4) for n in (tmp_path / f"log{i}").read_text().split())
    assert run == list(range(48))  # each trial's objective ran exactly once
    fixed = sorted(t.params["x"] for t in trials if "fixed_params" in t.system_attrs)
    assert fixed == enqueued


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_worker_trial_fails_and_is_retried(backend, tmp_path, request):
    if backend == "postgresql":
        url, drop = fresh_postgres(request.getfixturevalue("postgres_url"))
        request.addfinalizer(drop)
    else:
        url = f"sqlite:///{tmp_path / 'study.db'}"
    hpo.create_study(storage=url, study_name="s")
    log = tmp_path / "log"
    proc = _spawn("rdb", url, 1, log, mode="hang")
    deadline = time.monotonic() + 60
    while not (tmp_path / "log.ready").exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    storage = RDBStorage(url, heartbeat_interval=1, grace_period=1,
                         failed_trial_callback=RetryFailedTrialCallback(max_retry=1))
    study = hpo.load_study(study_name="s", storage=storage)
    killed = study.trials[0]
    assert killed.state == TrialState.RUNNING
    time.sleep(2.2)  # past the grace period
    study.optimize(lambda t: t.suggest_float("x", 0, 100), n_trials=1)
    trials = study.trials
    assert trials[0].state == TrialState.FAIL
    retry = trials[1]
    assert retry.state == TrialState.COMPLETE and retry.params == killed.params
    assert RetryFailedTrialCallback.retried_trial_number(retry) == 0
    assert RetryFailedTrialCallback.retry_history(retry) == [0]
    assert retry.system_attrs["failed_trial"] == 0


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_study_resumes_after_crash(kind, tmp_path):
    where = str(tmp_path / "journal.log") if kind == "journal" else f"sqlite:///{tmp_path / 'study.db'}"
    k = "journal" if kind == "journal" else "rdb"
    hpo.create_study(storage=_storage(k, where), study_name="s")
    proc = _spawn(k, where, 100_000, tmp_path / "log")
    deadline = time.monotonic() + 60
    while len((tmp_path / "log").read_text().split()) < 30 if (tmp_path / "log").exists() else True:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # mid-study, maybe mid-write
    proc.communicate()
    study = hpo.load_study(study_name="s", storage=_storage(k, where))
    before = study.trials
    done = [t for t in before if t.state == TrialState.COMPLETE]
    assert len(done) >= 29 and [t.number for t in before] == list(range(len(before)))
    study.optimize(lambda t: t.suggest_float("x", 0, 100), n_trials=5)
    after = hpo.load_study(study_name="s", storage=_storage(k, where)).trials
    assert len(after) == len(before) + 5
    assert [(t.number, t.params, t.values) for t in after[:len(done)]] == [(t.number, t.params, t.values)
                                                                           for t in before[:len(done)]]
