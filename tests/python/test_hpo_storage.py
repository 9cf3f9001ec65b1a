"""am.hpo storages: the BaseStorage contract run against InMemoryStorage, RDBStorage (SQLite and
PostgreSQL) and JournalStorage; two storage objects on one database see each other's writes (the
caches); bad input (malformed URL, missing folder, unknown study, corrupt journal line)."""
from __future__ import annotations

import datetime
import math
import pickle

import pytest
from hpo_storage_fixtures import fresh_postgres, postgres_url  # noqa: F401  (fixtures)

import aimass.hpo as hpo
from aimass.hpo.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from aimass.hpo.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from aimass.hpo.storages import (InMemoryStorage, JournalFileBackend, JournalFileOpenLock, JournalFileSymlinkLock,
                                 JournalStorage, RDBStorage)
from aimass.hpo.study import StudyDirection
from aimass.hpo.trial import TrialState

KINDS = ["memory", "sqlite", "journal", "journal-open-lock", "postgresql"]
MIN, MAX = StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE


@pytest.fixture(params=KINDS)
def make(request, tmp_path):
    """make(): a storage object; every call on a shared kind opens the same database or file."""
    kind = request.param
    drops = []
    if kind == "memory":
        one = InMemoryStorage()
        yield lambda: one
        return
    if kind == "postgresql":
        url, drop = fresh_postgres(request.getfixturevalue("postgres_url"))
        drops.append(drop)
    else:
        url = f"sqlite:///{tmp_path / 'study.db'}"
    path = str(tmp_path / "journal.log")
    made = []

    def factory():
        if kind.startswith("journal"):
            lock = JournalFileOpenLock(path) if kind == "journal-open-lock" else JournalFileSymlinkLock(path)
            s = JournalStorage(JournalFileBackend(path, lock_obj=lock))
        else:
            s = RDBStorage(url)
        made.append(s)
        return s
    yield factory
    for s in made:
        if isinstance(s, RDBStorage):
            s.engine.dispose()
            if s._autocommit is not None:
                s._autocommit.dispose()
    for d in drops:
        d()


def test_studies(make):
    s = make()
    a = s.create_new_study([MIN], "a")
    b = s.create_new_study([MAX, MIN], "b")
    with pytest.raises(DuplicatedStudyError, match="'a'"):
        s.create_new_study([MIN], "a")
    anon = s.create_new_study([MIN])
    assert s.get_study_name_from_id(anon).startswith("no-name-")
    assert s.get_study_id_from_name("a") == a and s.get_study_name_from_id(b) == "b"
    assert s.get_study_directions(b) == [MAX, MIN]
    with pytest.raises(KeyError, match="nope"):
        s.get_study_id_from_name("nope")
    s.set_study_user_attr(a, "k", {"x": [1, 2]})
    s.set_study_user_attr(a, "k", "over")
    s.set_study_system_attr(a, "sys", 3)
    assert s.get_study_user_attrs(a) == {"k": "over"} and s.get_study_system_attrs(a) == {"sys": 3}
    names = {st.study_name: st for st in s.get_all_studies()}
    assert set(names) >= {"a", "b"} and names["b"].directions == [MAX, MIN] and names["a"].user_attrs == {"k": "over"}
    s.create_new_trial(a)
    s.delete_study(a)
    with pytest.raises(KeyError):
        s.get_study_id_from_name("a")
    assert "a" not in {st.study_name for st in make().get_all_studies()}
    with pytest.raises(KeyError):
        s.get_study_directions(10_000)


def test_trial_lifecycle(make):
    s = make()
    sid = s.create_new_study([MIN], "s")
    t0, t1 = s.create_new_trial(sid), s.create_new_trial(sid)
    assert [s.get_trial(t).number for t in (t0, t1)] == [0, 1]
    assert s.get_trial(t0).state == TrialState.RUNNING and s.get_trial(t0).datetime_start is not None
    fx, ix, cx = FloatDistribution(1e-5, 1.0, log=True), IntDistribution(0, 10, step=2), \
        CategoricalDistribution(["a", None, 3])
    s.set_trial_param(t0, "lr", 0.01, fx)
    s.set_trial_param(t0, "n", 4.0, ix)
    s.set_trial_param(t0, "c", 1.0, cx)
    with pytest.raises(ValueError):
        s.set_trial_param(t1, "lr", 0.5, FloatDistribution(0.0, 1.0))  # incompatible with the first
    s.set_trial_intermediate_value(t0, 0, 1.5)
    s.set_trial_intermediate_value(t0, 1, math.inf)
    s.set_trial_intermediate_value(t0, 1, -math.inf)  # overwrite
    s.set_trial_intermediate_value(t0, 2, math.nan)
    s.set_trial_user_attr(t0, "u", [1, "x"])
    s.set_trial_system_attr(t0, "sy", {"k": 1})
    assert s.get_trial_param(t0, "n") == 4.0
    assert s.set_trial_state_values(t0, TrialState.COMPLETE, [math.inf])
    for other in (make(), s):  # a second object reads it from the database / the journal
        t = other.get_trial(t0)
        assert t.state == TrialState.COMPLETE and t.values == [math.inf] and t.datetime_complete is not None
        assert t.params == {"lr": 0.01, "n": 4, "c": None}
        assert t.distributions == {"lr": fx, "n": ix, "c": cx}
        assert t.intermediate_values[0] == 1.5 and t.intermediate_values[1] == -math.inf
        assert math.isnan(t.intermediate_values[2])
        assert t.user_attrs == {"u": [1, "x"]} and t.system_attrs == {"sy": {"k": 1}}
    for write in (lambda: s.set_trial_param(t0, "z", 0.5, FloatDistribution(0, 1)),
                  lambda: s.set_trial_user_attr(t0, "u", 2), lambda: s.set_trial_system_attr(t0, "u", 2),
                  lambda: s.set_trial_intermediate_value(t0, 5, 1.0),
                  lambda: s.set_trial_state_values(t0, TrialState.FAIL)):
        with pytest.raises(UpdateFinishedTrialError, match="Trial#0"):
            write()
    assert s.set_trial_state_values(t1, TrialState.PRUNED)
    assert s.get_trial(t1).values is None
    assert [t.number for t in s.get_all_trials(sid, states=(TrialState.COMPLETE,))] == [0]
    assert [t.state for t in make().get_all_trials(sid)] == [TrialState.COMPLETE, TrialState.PRUNED]
    assert s.get_n_trials(sid) == 2 and s.get_n_trials(sid, TrialState.PRUNED) == 1
    assert s.get_trial_id_from_study_id_trial_number(sid, 1) == t1
    with pytest.raises(KeyError):
        s.get_trial_id_from_study_id_trial_number(sid, 7)
    with pytest.raises(KeyError):
        s.get_trial(10_000)


def test_multi_objective_values_and_best(make):
    s = make()
    sid = s.create_new_study([MAX], "s")
    for v in (1.0, 3.0, -math.inf, 2.0):
        t = s.create_new_trial(sid)
        s.set_trial_state_values(t, TrialState.COMPLETE, [v])
    assert s.get_best_trial(sid).values == [3.0]
    m = s.create_new_study([MIN, MAX], "m")
    t = s.create_new_trial(m)
    s.set_trial_state_values(t, TrialState.COMPLETE, [1.0, -2.5])
    assert make().get_trial(t).values == [1.0, -2.5]
    with pytest.raises(RuntimeError):
        s.get_best_trial(m)


def test_template_trials_and_waiting(make):
    s = make()
    sid = s.create_new_study([MIN], "s")
    start = datetime.datetime(2026, 1, 2, 3, 4, 5, 123456)
    done = hpo.create_trial(value=2.5, params={"x": 0.25, "c": "b"},
                            distributions={"x": FloatDistribution(0, 1), "c": CategoricalDistribution(["a", "b"])},
                            user_attrs={"u": 1}, system_attrs={"s": [2]}, intermediate_values={0: 3.0, 4: 2.0})
    done.datetime_start, done.datetime_complete = start, start + datetime.timedelta(seconds=3)
    tid = s.create_new_trial(sid, template_trial=done)
    t = make().get_trial(tid)
    assert (t.number, t.state, t.values, t.params) == (0, TrialState.COMPLETE, [2.5], {"x": 0.25, "c": "b"})
    assert t.user_attrs == {"u": 1} and t.system_attrs == {"s": [2]} and t.intermediate_values == {0: 3.0, 4: 2.0}
    assert t.datetime_start == start and t.datetime_complete == start + datetime.timedelta(seconds=3)
    waiting = hpo.create_trial(state=TrialState.WAITING, params={"x": 0.5},
                               distributions={"x": FloatDistribution(0, 1)})
    w = s.create_new_trial(sid, template_trial=waiting)
    other = make()
    assert [x._trial_id for x in other.get_all_trials(sid, states=(TrialState.WAITING,))] == [w]
    assert other.set_trial_state_values(w, TrialState.RUNNING) is True
    assert s.set_trial_state_values(w, TrialState.RUNNING) is False  # taken already
    assert other.get_trial(w).state == TrialState.RUNNING and s.get_trial(w).datetime_start is not None
    assert s.get_all_trials(sid, states=(TrialState.WAITING,)) == []
    s.set_trial_state_values(w, TrialState.COMPLETE, [1.0])
    if not isinstance(s, InMemoryStorage):  # shared storages: taken and finished by another worker
        assert other.set_trial_state_values(w, TrialState.RUNNING) is False


def test_caches_follow_other_writers(make):
    """A running trial another object changes is read again; a finished one is read once."""
    a, b = make(), make()
    sid = a.create_new_study([MIN], "s")
    tid = a.create_new_trial(sid)
    assert [t.state for t in b.get_all_trials(sid)] == [TrialState.RUNNING]
    a.set_trial_param(tid, "x", 0.5, FloatDistribution(0, 1))
    a.set_trial_user_attr(tid, "k", "v")
    assert b.get_all_trials(sid)[0].params == {"x": 0.5}
    a.set_trial_state_values(tid, TrialState.COMPLETE, [0.5])
    t2 = b.create_new_trial(sid)
    got = a.get_all_trials(sid)
    assert [(t.number, t.state) for t in got] == [(0, TrialState.COMPLETE), (1, TrialState.RUNNING)]
    assert b.get_all_trials(sid, deepcopy=False)[0].user_attrs == {"k": "v"}
    assert a.get_trial(t2).number == 1


def test_study_through_api_and_pickle(make):
    s = make()
    study = hpo.create_study(storage=s, study_name="api", direction="maximize")
    study.enqueue_trial({"x": 0.75})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    assert len(study.trials) == 5 and study.trials[0].params == {"x": 0.75} and study.best_value >= 0.75
    copy = pickle.loads(pickle.dumps(s))
    again = hpo.load_study(study_name="api", storage=copy)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


# ---- bad input
@pytest.mark.parametrize("url", ["not a url", "sqlite:/x.db:::", "://nothing"])
def test_malformed_url(url):
    with pytest.raises(ValueError, match="malformed storage URL"):
        hpo.create_study(storage=url)


def test_unknown_dialect():
    with pytest.raises(ValueError, match="unknown database dialect"):
        RDBStorage("nosuchdb://host/db")


def test_missing_folder(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(ValueError, match="does not exist"):
        hpo.create_study(storage=f"sqlite:///{missing / 'study.db'}")
    with pytest.raises(ValueError, match="does not exist"):
        JournalFileBackend(str(missing / "journal.log"))


def test_unknown_study_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    hpo.create_study(storage=url, study_name="exists")
    with pytest.raises(KeyError, match="'missing'"):
        hpo.load_study(study_name="missing", storage=url)
    journal = JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    with pytest.raises(KeyError, match="'missing'"):
        hpo.load_study(study_name="missing", storage=journal)


def test_corrupt_journal_line(tmp_path):
    path = tmp_path / "j.log"
    study = hpo.create_study(storage=JournalStorage(JournalFileBackend(str(path))), study_name="s")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    lines = path.read_bytes().split(b"\n")
    lines[3] = b'{"op_code": 5, "trial_id"'
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match=r"line 4: not a JSON record"):
        JournalStorage(JournalFileBackend(str(path)))


def test_unfinished_last_journal_line_is_left_for_later(tmp_path):
    """A last line without its newline is being written: read up to it, then on once it is complete."""
    path = str(tmp_path / "j.log")
    storage = JournalStorage(JournalFileBackend(path))
    sid = storage.create_new_study([MIN], "s")
    backend = JournalFileBackend(path)
    assert len(list(backend.read_logs(0))) == 1
    with open(path, "ab") as f:
        f.write(b'{"op_code":2,"worker_id":"w","study_id":0,"user_attr":{"k":1}')
    assert list(backend.read_logs(1)) == []
    with open(path, "ab") as f:
        f.write(b"}\n")
    assert [log["user_attr"] for log in backend.read_logs(1)] == [{"k": 1}]
    assert storage.get_study_user_attrs(sid) == {"k": 1}


def test_lock_is_exclusive_and_stale_lock_is_removed(tmp_path):
    path = str(tmp_path / "j.log")
    for cls in (JournalFileSymlinkLock, JournalFileOpenLock):
        a, b = cls(path, grace_period=1), cls(path, grace_period=1)
        assert a.acquire()
        t = datetime.datetime.now()
        assert b.acquire()  # a never releases: b takes it after the grace period
        assert (datetime.datetime.now() - t).total_seconds() >= 1.0
        b.release()
        with pytest.raises(RuntimeError, match="did not possess"):
            b.release()
    with pytest.raises(ValueError, match="grace_period"):
        JournalFileSymlinkLock(path, grace_period=0)


def test_schema_revision_checked(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    s = RDBStorage(url)
    assert s.get_current_version() == "v3.2.0.a"
    import sqlalchemy as sa
    with s.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'v3.0.0.d'"))
    with pytest.raises(RuntimeError, match="v3.0.0.d"):
        RDBStorage(url)
    RDBStorage(url, skip_compatibility_check=True)
