"""Studies in an SQL database (SQLite, PostgreSQL, MySQL through SQLAlchemy 2 Core), in Optuna's RDB
schema (schema version 12, alembic revision v3.2.0.a), so Optuna and optuna-dashboard open what
aimass wrote and aimass continues what Optuna started.

Many workers (threads, processes, machines) share one database; every storage call is one
transaction. Trial numbers are the count of the study's earlier trials, taken while the study's
row is locked (SELECT ... FOR UPDATE; on SQLite the INSERT ... SELECT itself holds the write lock).
A worker takes an enqueued trial with UPDATE ... WHERE state = 'WAITING' and owns it only when one
row changed. Finished trials never change, so each storage object keeps them once read
(get_all_trials then fetches only trials that are new or were unfinished), and the trials this
object created keep a local copy that its own writes update (get_trial of them costs nothing).
"""
from __future__ import annotations

import copy
import datetime
import json
import math
import os
import random
import threading
import time
import uuid
from typing import Any, Callable, Container, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as _pg
from sqlalchemy.dialects import sqlite as _sqlite

from ..distributions import BaseDistribution, check_distribution_compatibility, distribution_to_json, \
    json_to_distribution
from ..exceptions import DuplicatedStudyError, StorageInternalError, UpdateFinishedTrialError
from ..study._direction import StudyDirection
from ..study._frozen import FrozenStudy
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import DEFAULT_STUDY_NAME_PREFIX, BaseHeartbeat, BaseStorage

SCHEMA_VERSION = 12  # Optuna's version_info.schema_version (frozen since alembic took over)
ALEMBIC_REVISION = "v3.2.0.a"  # Optuna 5.1's alembic head
_STR = sa.String(512)
_FLOAT = sa.Float(precision=53)

# ---- Optuna's schema (storages/_rdb/models.py), column for column; enums stored by name
meta = sa.MetaData()
_direction = sa.Enum("NOT_SET", "MINIMIZE", "MAXIMIZE", name="studydirection")
_state = sa.Enum("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING", name="trialstate")
_value_type = sa.Enum("FINITE", "INF_POS", "INF_NEG", name="trialvaluetype")
_ivalue_type = sa.Enum("FINITE", "INF_POS", "INF_NEG", "NAN", name="trialintermediatevaluetype")
studies = sa.Table("studies", meta, sa.Column("study_id", sa.Integer, primary_key=True),
                   sa.Column("study_name", _STR, index=True, unique=True, nullable=False))
study_directions = sa.Table(
    "study_directions", meta, sa.Column("study_direction_id", sa.Integer, primary_key=True),
    sa.Column("direction", _direction, nullable=False),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.study_id"), nullable=False),
    sa.Column("objective", sa.Integer, nullable=False), sa.UniqueConstraint("study_id", "objective"))


def _attr_table(name: str, owner: str, owner_table: str) -> sa.Table:
    return sa.Table(name, meta, sa.Column(f"{name[:-1].replace('attributes', 'attribute')}_id", sa.Integer,
                                          primary_key=True),
                    sa.Column(f"{owner}_id", sa.Integer, sa.ForeignKey(f"{owner_table}.{owner}_id")),
                    sa.Column("key", _STR), sa.Column("value_json", sa.Text), sa.UniqueConstraint(f"{owner}_id", "key"))


study_user_attributes = _attr_table("study_user_attributes", "study", "studies")
study_system_attributes = _attr_table("study_system_attributes", "study", "studies")
trials = sa.Table("trials", meta, sa.Column("trial_id", sa.Integer, primary_key=True),
                  sa.Column("number", sa.Integer),
                  sa.Column("study_id", sa.Integer, sa.ForeignKey("studies.study_id"), index=True),
                  sa.Column("state", _state, nullable=False),
                  sa.Column("datetime_start", sa.DateTime), sa.Column("datetime_complete", sa.DateTime))
trial_user_attributes = _attr_table("trial_user_attributes", "trial", "trials")
trial_system_attributes = _attr_table("trial_system_attributes", "trial", "trials")
trial_params = sa.Table("trial_params", meta, sa.Column("param_id", sa.Integer, primary_key=True),
                        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.trial_id")),
                        sa.Column("param_name", _STR), sa.Column("param_value", _FLOAT),
                        sa.Column("distribution_json", sa.Text), sa.UniqueConstraint("trial_id", "param_name"))
trial_values = sa.Table("trial_values", meta, sa.Column("trial_value_id", sa.Integer, primary_key=True),
                        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.trial_id"), nullable=False),
                        sa.Column("objective", sa.Integer, nullable=False), sa.Column("value", _FLOAT),
                        sa.Column("value_type", _value_type, nullable=False),
                        sa.UniqueConstraint("trial_id", "objective"))
trial_intermediate_values = sa.Table(
    "trial_intermediate_values", meta, sa.Column("trial_intermediate_value_id", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.trial_id"), nullable=False),
    sa.Column("step", sa.Integer, nullable=False), sa.Column("intermediate_value", _FLOAT),
    sa.Column("intermediate_value_type", _ivalue_type, nullable=False), sa.UniqueConstraint("trial_id", "step"))
trial_heartbeats = sa.Table(
    "trial_heartbeats", meta, sa.Column("trial_heartbeat_id", sa.Integer, primary_key=True),
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.trial_id"), nullable=False),
    sa.Column("heartbeat", sa.DateTime, nullable=False, server_default=sa.func.current_timestamp()),
    sa.UniqueConstraint("trial_id"))
version_info = sa.Table("version_info", meta,
                        sa.Column("version_info_id", sa.Integer, primary_key=True, autoincrement=False),
                        sa.Column("schema_version", sa.Integer), sa.Column("library_version", sa.String(256)),
                        sa.CheckConstraint("version_info_id=1"))
alembic_version = sa.Table("alembic_version", meta, sa.Column("version_num", sa.String(32), nullable=False),
                           sa.PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))

_TRIAL_CHILDREN = (trial_params, trial_values, trial_intermediate_values, trial_user_attributes,
                   trial_system_attributes, trial_heartbeats)
_UNFINISHED = ("RUNNING", "WAITING")
_STATE_BY_NAME = {s.name: s for s in TrialState}


def _value_to_stored(v: float) -> tuple[float | None, str]:
    if v == math.inf:
        return None, "INF_POS"
    if v == -math.inf:
        return None, "INF_NEG"
    return float(v), "FINITE"


def _ivalue_to_stored(v: float) -> tuple[float | None, str]:
    return (None, "NAN") if math.isnan(v) else _value_to_stored(v)


_FROM_TYPE = {"INF_POS": math.inf, "INF_NEG": -math.inf, "NAN": math.nan}


def _utc(dt: datetime.datetime | None) -> datetime.datetime | None:
    """Local naive -> naive UTC (the database keeps naive UTC, as Optuna)."""
    return None if dt is None else dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _local(dt: datetime.datetime | None) -> datetime.datetime | None:
    return None if dt is None else dt.replace(tzinfo=datetime.timezone.utc).astimezone().replace(tzinfo=None)


def _check_url(url: str) -> sa.engine.URL:
    """The parsed URL; ValueError naming what is wrong with it."""
    if not isinstance(url, str):
        raise TypeError(f"storage URL must be a str, got {type(url).__name__}")
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(f"malformed storage URL {url!r}: expected dialect[+driver]://user:password@host/database, "
                         f"for example 'sqlite:///study.db' or 'postgresql://user@host/db'") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not parsed.database.startswith("file:"):
        folder = os.path.dirname(os.path.abspath(parsed.database))
        if not os.path.isdir(folder):
            raise ValueError(f"storage URL {url!r}: the folder {folder!r} of the SQLite database does not exist")
    return parsed


class _StudyCache:
    """The trials of one study as this storage object last saw them."""
    __slots__ = ("by_number", "finished", "unfinished", "last_id", "dists")

    def __init__(self) -> None:
        self.by_number: list[FrozenTrial | None] = []
        self.finished: set[int] = set()
        self.unfinished: dict[int, FrozenTrial | None] = {}  # None: seen, details not read
        self.last_id = -1
        self.dists: dict[str, BaseDistribution] = {}  # each parameter's first distribution


class RDBStorage(BaseStorage, BaseHeartbeat):
    def __init__(self, url: str, engine_kwargs: dict[str, Any] | None = None, skip_compatibility_check: bool = False,
                 *, heartbeat_interval: int | None = None, grace_period: int | None = None,
                 failed_trial_callback: Callable | None = None, heartbeat_stale_trial_callback: Callable | None = None,
                 skip_table_creation: bool = False) -> None:
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError("The value of `heartbeat_interval` should be a positive integer.")
        if grace_period is not None and grace_period <= 0:
            raise ValueError("The value of `grace_period` should be a positive integer.")
        if failed_trial_callback is not None and heartbeat_stale_trial_callback is not None:
            raise ValueError("Specify only one of `heartbeat_stale_trial_callback` and `failed_trial_callback`.")
        self.url = url.format(SCHEMA_VERSION=SCHEMA_VERSION) if isinstance(url, str) else url
        self._parsed = _check_url(self.url)
        self.engine_kwargs = dict(engine_kwargs or {})
        self.skip_compatibility_check = skip_compatibility_check
        self.skip_table_creation = skip_table_creation
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.heartbeat_stale_trial_callback = heartbeat_stale_trial_callback or failed_trial_callback
        self.failed_trial_callback = self.heartbeat_stale_trial_callback
        self._connect()
        if not skip_table_creation:
            self._create_tables()
        self._check_version()

    # ---- engine, caches, transactions
    def _connect(self) -> None:
        kwargs = dict(self.engine_kwargs)
        backend = self._parsed.get_backend_name()
        if backend == "sqlite":
            kwargs.setdefault("connect_args", {}).setdefault("timeout", 60)
        if backend == "mysql":
            kwargs.setdefault("pool_pre_ping", True)
        try:
            self.engine = sa.create_engine(self._parsed, **kwargs)
        except ImportError as e:
            raise ImportError(f"the database driver for {self._parsed.drivername!r} (storage URL "
                              f"{self._safe_url()}) is not installed: {e}") from e
        except sa.exc.NoSuchModuleError:
            raise ValueError(f"storage URL {self._safe_url()}: unknown database dialect "
                             f"{self._parsed.drivername!r}") from None
        self._sqlite = backend == "sqlite"
        memory = self._sqlite and self._parsed.database in (None, "", ":memory:")
        # a second pool whose connections stay in autocommit mode (switching one costs a round trip)
        self._autocommit = None if memory else sa.create_engine(self._parsed, isolation_level="AUTOCOMMIT", **kwargs)
        self._returning = self.engine.dialect.insert_returning
        self._upsert_needs_txn = self.engine.dialect.name not in ("sqlite", "postgresql")
        if self._sqlite and not memory:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self._autocommit, "connect", _sqlite_pragmas)
        self._pid = self._pid_autocommit = os.getpid()
        self._lock = threading.RLock()
        self._caches: dict[int, _StudyCache] = {}
        self._owned: dict[int, FrozenTrial] = {}  # unfinished trials this object created or took
        self._finished: dict[int, FrozenTrial] = {}  # trial id -> finished trial (immutable)
        self._study_of: dict[int, int] = {}  # trial id -> study id
        self._dist_json: dict[str, BaseDistribution] = {}

    def _safe_url(self) -> str:
        return repr(self._parsed.render_as_string(hide_password=True))

    def __getstate__(self) -> dict:
        keep = ("url", "engine_kwargs", "skip_compatibility_check", "skip_table_creation", "heartbeat_interval",
                "grace_period", "heartbeat_stale_trial_callback", "failed_trial_callback")
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._parsed = _check_url(self.url)
        self._connect()

    def _begin(self, atomic: bool) -> Any:
        if os.getpid() != self._pid:  # forked: the parent's pooled connections are not ours
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        if os.getpid() != self._pid_autocommit and self._autocommit is not None:
            self._autocommit.dispose(close=False)
            self._pid_autocommit = os.getpid()
        return self.engine.begin() if atomic or self._autocommit is None else self._autocommit.connect()

    def _run(self, fn: Callable[[sa.Connection], Any], atomic: bool = True) -> Any:
        """fn(conn) in one transaction (atomic=False: each statement commits by itself, which saves
        the BEGIN and COMMIT round trips where fn writes with one statement or only reads), retried
        when the database is locked, busy or deadlocked."""
        deadline = None
        delay = 0.002
        while True:
            try:
                with self._begin(atomic) as conn:
                    return fn(conn)
            except sa.exc.OperationalError as e:
                if not _is_transient(e):
                    raise StorageInternalError(f"database error on {self._safe_url()}: {e.orig}") from e
                deadline = deadline or time.monotonic() + 120
                if time.monotonic() > deadline:
                    raise StorageInternalError(f"the database {self._safe_url()} stayed locked for 120 s: "
                                               f"{e.orig}") from e
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.2)
            except sa.exc.DBAPIError as e:
                if _is_transient(e):
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.2)
                    continue
                raise

    def _dist(self, text: str) -> BaseDistribution:
        d = self._dist_json.get(text)
        if d is None:
            d = self._dist_json[text] = json_to_distribution(text)
        return d

    # ---- schema and version
    def _create_tables(self) -> None:
        for attempt in range(5):
            try:
                meta.create_all(self.engine, checkfirst=True)
                break
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError):
                if attempt == 4:  # another process was creating the same tables
                    raise
                time.sleep(0.05 * (attempt + 1))

        def init(conn: sa.Connection) -> None:
            if conn.execute(sa.select(version_info.c.version_info_id)).first() is None:
                from ... import __version__
                conn.execute(version_info.insert().values(version_info_id=1, schema_version=SCHEMA_VERSION,
                                                          library_version=f"aimass {__version__}"))
            if conn.execute(sa.select(alembic_version.c.version_num)).first() is None:
                conn.execute(alembic_version.insert().values(version_num=ALEMBIC_REVISION))
        try:
            self._run(init)
        except sa.exc.IntegrityError:
            pass  # another worker wrote them first

    def _check_version(self) -> None:
        if self.skip_compatibility_check:
            return
        try:
            rev = self._run(lambda c: c.execute(sa.select(alembic_version.c.version_num)).scalar())
        except sa.exc.ProgrammingError as e:
            raise RuntimeError(f"{self._safe_url()} has no Optuna tables (skip_table_creation=True): {e.orig}") from e
        if rev != ALEMBIC_REVISION:
            raise RuntimeError(f"the database {self._safe_url()} has Optuna schema revision {rev!r}; aimass reads "
                               f"revision {ALEMBIC_REVISION!r} (Optuna >= 3.2). Upgrade it with `optuna storage "
                               f"upgrade --storage URL`.")

    def get_current_version(self) -> str:
        return self._run(lambda c: c.execute(sa.select(alembic_version.c.version_num)).scalar())

    def get_head_version(self) -> str:
        return ALEMBIC_REVISION

    # ---- studies
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        name = study_name or DEFAULT_STUDY_NAME_PREFIX + str(uuid.uuid4())

        def create(conn: sa.Connection) -> int:
            study_id = conn.execute(studies.insert().values(study_name=name)).inserted_primary_key[0]
            conn.execute(study_directions.insert(), [{"study_id": study_id, "objective": i,
                                                      "direction": StudyDirection(d).name}
                                                     for i, d in enumerate(directions)])
            return study_id
        try:
            return self._run(create)
        except sa.exc.IntegrityError:
            raise DuplicatedStudyError(f"Another study with name '{name}' already exists. Please specify a "
                                       f"different name, or reuse the existing one by setting `load_if_exists` (for "
                                       f"Python API) or `--skip-if-exists` flag (for CLI).") from None

    def delete_study(self, study_id: int) -> None:
        def delete(conn: sa.Connection) -> None:
            self._study_exists(conn, study_id)
            ids = sa.select(trials.c.trial_id).where(trials.c.study_id == study_id).scalar_subquery()
            for t in _TRIAL_CHILDREN:
                conn.execute(t.delete().where(t.c.trial_id.in_(ids)))
            conn.execute(trials.delete().where(trials.c.study_id == study_id))
            for t in (study_directions, study_user_attributes, study_system_attributes):
                conn.execute(t.delete().where(t.c.study_id == study_id))
            conn.execute(studies.delete().where(studies.c.study_id == study_id))
        self._run(delete)
        with self._lock:
            self._caches.pop(study_id, None)

    @staticmethod
    def _study_exists(conn: sa.Connection, study_id: int) -> None:
        if conn.execute(sa.select(studies.c.study_id).where(studies.c.study_id == study_id)).first() is None:
            raise KeyError(f"No study with study_id {study_id} exists.")

    def _set_study_attr(self, table: sa.Table, study_id: int, key: str, value: Any) -> None:
        text = json.dumps(value)

        def put(conn: sa.Connection) -> None:
            self._study_exists(conn, study_id)
            self._upsert(conn, table, {"study_id": study_id, "key": key}, {"value_json": text})
        self._run(put)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_user_attributes, study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_system_attributes, study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        sid = self._run(lambda c: c.execute(sa.select(studies.c.study_id)
                                            .where(studies.c.study_name == study_name)).scalar())
        if sid is None:
            raise KeyError(f"No study named '{study_name}' in the storage {self._safe_url()}.")
        return sid

    def get_study_name_from_id(self, study_id: int) -> str:
        name = self._run(lambda c: c.execute(sa.select(studies.c.study_name)
                                             .where(studies.c.study_id == study_id)).scalar())
        if name is None:
            raise KeyError(f"No study with study_id {study_id} exists.")
        return name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        rows = self._run(lambda c: c.execute(sa.select(study_directions.c.direction)
                                             .where(study_directions.c.study_id == study_id)
                                             .order_by(study_directions.c.objective)).scalars().all())
        if not rows:
            raise KeyError(f"No study with study_id {study_id} exists.")
        return [StudyDirection[d] for d in rows]

    def _study_attrs(self, table: sa.Table, study_id: int) -> dict[str, Any]:
        def get(conn: sa.Connection) -> list:
            self._study_exists(conn, study_id)
            return conn.execute(sa.select(table.c.key, table.c.value_json).where(table.c.study_id == study_id)).all()
        return {k: json.loads(v) for k, v in self._run(get)}

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_user_attributes, study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_system_attributes, study_id)

    def get_all_studies(self) -> list[FrozenStudy]:
        def get(conn: sa.Connection) -> tuple:
            return (conn.execute(sa.select(studies).order_by(studies.c.study_id)).all(),
                    conn.execute(sa.select(study_directions).order_by(study_directions.c.objective)).all(),
                    conn.execute(sa.select(study_user_attributes)).all(),
                    conn.execute(sa.select(study_system_attributes)).all())
        rows, dirs, users, systems = self._run(get)
        directions: dict[int, list] = {}
        for d in dirs:
            directions.setdefault(d.study_id, []).append(StudyDirection[d.direction])
        user: dict[int, dict] = {}
        for a in users:
            user.setdefault(a.study_id, {})[a.key] = json.loads(a.value_json)
        system: dict[int, dict] = {}
        for a in systems:
            system.setdefault(a.study_id, {})[a.key] = json.loads(a.value_json)
        return [FrozenStudy(r.study_name, None, user.get(r.study_id, {}), system.get(r.study_id, {}), r.study_id,
                            directions=directions.get(r.study_id, [])) for r in rows]

    # ---- trials: writes
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        t = template_trial
        state = TrialState.RUNNING if t is None else t.state
        start = datetime.datetime.now() if t is None else t.datetime_start
        complete = None if t is None else t.datetime_complete
        if t is not None:
            with self._lock:
                cache = self._caches.get(study_id)
                for name, dist in t.distributions.items():
                    if cache is not None and name in cache.dists:
                        check_distribution_compatibility(cache.dists[name], dist)

        def create(conn: sa.Connection) -> tuple[int, int]:
            if not self._sqlite:  # numbers are counted under the study's row lock (SQLite: the write lock)
                if conn.execute(sa.select(studies.c.study_id).where(studies.c.study_id == study_id)
                                .with_for_update()).first() is None:
                    raise KeyError(f"No study with study_id {study_id} exists.")
            args = {"sid": study_id, "state": state.name, "start": _utc(start), "complete": _utc(complete)}
            if self._returning:
                row = conn.execute(_INSERT_TRIAL_RETURNING, args).first()
                if row is None:
                    raise KeyError(f"No study with study_id {study_id} exists.")
                trial_id, number = row
            else:
                conn.execute(_INSERT_TRIAL, args)
                trial_id, number = conn.execute(sa.select(trials.c.trial_id, trials.c.number)
                                                .where(trials.c.study_id == study_id)
                                                .order_by(trials.c.trial_id.desc()).limit(1)).first()
            if t is not None:
                self._write_template(conn, trial_id, t)
            return trial_id, number

        trial_id, number = self._run(create)
        with self._lock:
            self._study_of[trial_id] = study_id
            if t is None:
                self._owned[trial_id] = FrozenTrial(number, TrialState.RUNNING, None, start, None, {}, {}, {}, {}, {},
                                                    trial_id)
        return trial_id

    def _write_template(self, conn: sa.Connection, trial_id: int, t: FrozenTrial) -> None:
        if t.values is not None:
            conn.execute(trial_values.insert(), [dict(zip(("value", "value_type"), _value_to_stored(v)),
                                                      trial_id=trial_id, objective=i) for i, v in enumerate(t.values)])
        if t.params:
            conn.execute(trial_params.insert(), [
                {"trial_id": trial_id, "param_name": k, "param_value": t.distributions[k].to_internal_repr(v),
                 "distribution_json": distribution_to_json(t.distributions[k])} for k, v in t.params.items()])
        for table, attrs in ((trial_user_attributes, t.user_attrs), (trial_system_attributes, t.system_attrs)):
            if attrs:
                conn.execute(table.insert(), [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                                              for k, v in attrs.items()])
        if t.intermediate_values:
            conn.execute(trial_intermediate_values.insert(), [
                dict(zip(("intermediate_value", "intermediate_value_type"), _ivalue_to_stored(v)), trial_id=trial_id,
                     step=int(s)) for s, v in t.intermediate_values.items()])

    def _not_updatable(self, conn: sa.Connection, trial_id: int) -> Exception | None:
        """Why a write to trial_id changed no row: it does not exist, or it has finished (None: neither)."""
        row = conn.execute(_TRIAL_STATE, {"tid": trial_id}).first()
        if row is None:
            return KeyError(f"No trial with trial_id {trial_id} exists.")
        if row.state in _UNFINISHED:
            return None
        return UpdateFinishedTrialError(f"Trial#{row.number} has already finished and can not be updated.")

    def _study_id_of(self, conn: sa.Connection, trial_id: int) -> int:
        sid = self._study_of.get(trial_id)
        if sid is None:
            sid = conn.execute(_STUDY_OF_TRIAL, {"tid": trial_id}).scalar()
            if sid is None:
                raise KeyError(f"No trial with trial_id {trial_id} exists.")
            self._study_of[trial_id] = sid
        return sid

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: BaseDistribution) -> None:
        text = distribution_to_json(distribution)

        def put(conn: sa.Connection) -> None:
            study_id = self._study_id_of(conn, trial_id)
            with self._lock:
                cache = self._caches.setdefault(study_id, _StudyCache())
                first = cache.dists.get(param_name)
            if first is None:
                prev = conn.execute(_FIRST_DIST, {"sid": study_id, "name": param_name}).scalar()
                first = distribution if prev is None else self._dist(prev)
            check_distribution_compatibility(first, distribution)
            try:
                n = conn.execute(_INSERT_PARAM, {"tid": trial_id, "name": param_name,
                                                 "value": float(param_value_internal), "dist": text}).rowcount
            except sa.exc.IntegrityError:
                raise ValueError(f"the parameter '{param_name}' of trial_id {trial_id} is already set") from None
            if n == 0:
                raise self._not_updatable(conn, trial_id) or KeyError(f"No trial with trial_id {trial_id} exists.")
            with self._lock:
                cache.dists.setdefault(param_name, first)
        self._run(put, atomic=False)
        with self._lock:
            owned = self._owned.get(trial_id)
            if owned is not None:
                owned.params[param_name] = distribution.to_external_repr(param_value_internal)
                owned.distributions[param_name] = distribution

    def get_trial_param(self, trial_id: int, param_name: str) -> float:
        owned = self._owned.get(trial_id) or self._finished.get(trial_id)
        if owned is not None:
            return owned.distributions[param_name].to_internal_repr(owned.params[param_name])
        v = self._run(lambda c: c.execute(sa.select(trial_params.c.param_value).where(
            trial_params.c.trial_id == trial_id, trial_params.c.param_name == param_name)).first())
        if v is None:
            raise KeyError(f"trial_id {trial_id} has no parameter '{param_name}'.")
        return v[0]

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        now = datetime.datetime.now()
        stmt = _TAKE_WAITING if state == TrialState.RUNNING else _FINISH if state.is_finished() else _SET_STATE
        args = {"tid": trial_id, "state": state.name, "now": _utc(now)}
        values = None if values is None else [float(v) for v in values]

        owned_fresh = values is not None and trial_id in self._owned and self._owned[trial_id].values is None
        one_statement = values is None or (owned_fresh and state.is_finished() and self.engine.dialect.name ==
                                           "postgresql")

        def put(conn: sa.Connection) -> bool:
            if values is not None and one_statement:  # UPDATE and INSERT the values in one round trip
                stored = [_value_to_stored(v) for v in values]
                vargs = {f"v{i}": v for i, (v, _) in enumerate(stored)} | {f"t{i}": t for i, (_, t) in enumerate(stored)}
                n = conn.execute(_pg_finish_with_values(len(values)), {**args, **vargs}).rowcount
            else:
                n = conn.execute(stmt, args).rowcount
            if n == 0:
                err = self._not_updatable(conn, trial_id)
                if err is None or (state == TrialState.RUNNING and isinstance(err, UpdateFinishedTrialError)):
                    return False  # RUNNING asked of a trial another worker took (and maybe finished) first
                raise err
            if values is not None and not one_statement:
                if not owned_fresh:
                    conn.execute(_DELETE_VALUES, {"tid": trial_id})
                conn.execute(trial_values.insert(), [dict(zip(("value", "value_type"), _value_to_stored(v)),
                                                          trial_id=trial_id, objective=i)
                                                     for i, v in enumerate(values)])
            return True
        if not self._run(put, atomic=not one_statement):
            return False
        with self._lock:
            owned = self._owned.get(trial_id)
            if owned is None and state == TrialState.RUNNING:
                owned = self._owned[trial_id] = self._fetch([trial_id])[0]
                return True
            if owned is not None:
                owned.state = state
                if values is not None:
                    owned.values = values
                if state == TrialState.RUNNING:
                    owned.datetime_start = now
                if state.is_finished():
                    owned.datetime_complete = now
                    del self._owned[trial_id]
                    self._finished[trial_id] = owned
        return True

    def _set_trial_row(self, table: sa.Table, trial_id: int, key: dict, value: dict) -> None:
        def put(conn: sa.Connection) -> None:
            if not self._upsert(conn, table, {"trial_id": trial_id, **key}, value, guard_trial=trial_id):
                raise self._not_updatable(conn, trial_id) or KeyError(f"No trial with trial_id {trial_id} exists.")
        self._run(put, atomic=self._upsert_needs_txn)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        v, kind = _ivalue_to_stored(float(intermediate_value))
        self._set_trial_row(trial_intermediate_values, trial_id, {"step": int(step)},
                            {"intermediate_value": v, "intermediate_value_type": kind})
        with self._lock:
            if trial_id in self._owned:
                self._owned[trial_id].intermediate_values[int(step)] = float(intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_trial_row(trial_user_attributes, trial_id, {"key": key}, {"value_json": json.dumps(value)})
        with self._lock:
            if trial_id in self._owned:
                self._owned[trial_id].user_attrs[key] = json.loads(json.dumps(value))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_trial_row(trial_system_attributes, trial_id, {"key": key}, {"value_json": json.dumps(value)})
        with self._lock:
            if trial_id in self._owned:
                self._owned[trial_id].system_attrs[key] = json.loads(json.dumps(value))

    def _upsert(self, conn: sa.Connection, table: sa.Table, key: dict, value: dict,
                guard_trial: int | None = None) -> bool:
        """INSERT, or UPDATE on the unique key; with guard_trial only while that trial is unfinished
        (False when it is not)."""
        row = {**key, **value}
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            stmt = _upsert_stmt(dialect, table, tuple(key), tuple(value), guard_trial is not None)
            return conn.execute(stmt, {**row, "guard": guard_trial}).rowcount > 0
        if guard_trial is not None and conn.execute(sa.select(trials.c.state).where(
                trials.c.trial_id == guard_trial, trials.c.state.in_(_UNFINISHED)).with_for_update()).first() is None:
            return False
        cond = [table.c[k] == v for k, v in key.items()]
        if conn.execute(table.update().where(*cond).values(**value)).rowcount == 0:
            conn.execute(table.insert().values(**row))
        return True

    # ---- trials: reads
    def _fetch(self, ids: list[int], rows: list | None = None) -> list[FrozenTrial]:
        """The trials of ids (in that order), read in one transaction: their rows (unless given) and
        one UNION ALL of their parameters, values, intermediate values and attributes."""
        ids = list(ids)

        def get(conn: sa.Connection) -> tuple:
            trial_rows = rows
            if trial_rows is None:
                trial_rows = conn.execute(sa.select(trials).where(trials.c.trial_id.in_(ids))).all()
            parts = []
            for i in range(0, len(ids), 900):  # SQLite's bound-parameter limit
                chunk = ids[i:i + 900]
                parts.extend(conn.execute(_DETAILS, {"ids": chunk}).all())
            return trial_rows, parts
        trial_rows, parts = self._run(get, atomic=False)
        built: dict[int, FrozenTrial] = {}
        for r in trial_rows:
            built[r.trial_id] = FrozenTrial(r.number, _STATE_BY_NAME[r.state], None, _local(r.datetime_start),
                                            _local(r.datetime_complete), {}, {}, {}, {}, {}, r.trial_id)
        values: dict[int, dict[int, float]] = {}
        for kind, tid, key, num, text, idx in parts:
            t = built.get(tid)
            if t is None:
                continue
            if kind == 0:
                d = self._dist(text)
                t._params[key] = d.to_external_repr(num)
                t._distributions[key] = d
            elif kind == 1:
                values.setdefault(tid, {})[idx] = num if text == "FINITE" else _FROM_TYPE[text]
            elif kind == 2:
                t.intermediate_values[idx] = num if text == "FINITE" else _FROM_TYPE[text]
            elif kind == 3:
                t._user_attrs[key] = json.loads(text)
            else:
                t._system_attrs[key] = json.loads(text)
        for tid, vs in values.items():
            built[tid]._values = [vs[i] for i in sorted(vs)]
        missing = [i for i in ids if i not in built]
        if missing:
            raise KeyError(f"No trial with trial_id {missing[0]} exists.")
        return [built[i] for i in ids]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            t = self._owned.get(trial_id) or self._finished.get(trial_id)
        if t is not None:
            return t
        t = self._fetch([trial_id])[0]
        if t.state.is_finished():
            with self._lock:
                self._finished[trial_id] = t
        return t

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        tid = self._run(lambda c: c.execute(sa.select(trials.c.trial_id).where(
            trials.c.study_id == study_id, trials.c.number == trial_number)).scalar())
        if tid is None:
            raise KeyError(f"No trial with trial number {trial_number} exists in study with study_id {study_id}.")
        return tid

    def get_trial_number_from_id(self, trial_id: int) -> int:
        return self.get_trial(trial_id).number

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        trials_ = self._sync(study_id, states)
        if states is not None:
            trials_ = [t for t in trials_ if t.state in states]
        return copy.deepcopy(trials_) if deepcopy else trials_

    def get_n_trials(self, study_id: int, state: tuple[TrialState, ...] | TrialState | None = None) -> int:
        if state is None:
            def count(conn: sa.Connection) -> int:
                self._study_exists(conn, study_id)
                return conn.execute(sa.select(sa.func.count()).select_from(trials)
                                    .where(trials.c.study_id == study_id)).scalar()
            return self._run(count)
        return super().get_n_trials(study_id, state)

    def _sync(self, study_id: int, states: Container[TrialState] | None) -> list[FrozenTrial]:
        """Read what changed since the last call: new trials and the ones that were unfinished. Only
        finished trials and those in states get their details read (the rest stay 'seen')."""
        with self._lock:
            cache = self._caches.setdefault(study_id, _StudyCache())
            last, unfinished = cache.last_id, list(cache.unfinished)
        if len(unfinished) > 500:
            last, unfinished = min(unfinished) - 1, []
        args = {"sid": study_id, "last": last, "ids": unfinished or [-1]}

        def get(conn: sa.Connection) -> list:
            rows = conn.execute(_SYNC, args).all()
            if not rows and last < 0:
                self._study_exists(conn, study_id)
            return rows
        rows = self._run(get, atomic=False)
        with self._lock:
            rows = [r for r in rows if r.trial_id not in cache.finished]
        need = [r for r in rows if r.state not in _UNFINISHED or states is None or _STATE_BY_NAME[r.state] in states]
        fetched = {t._trial_id: t for t in self._fetch([r.trial_id for r in need], need)} if need else {}
        with self._lock:
            for r in rows:
                t = fetched.get(r.trial_id)
                if r.trial_id > cache.last_id:
                    cache.last_id = r.trial_id
                self._study_of[r.trial_id] = study_id
                while len(cache.by_number) <= r.number:
                    cache.by_number.append(None)
                if t is None:
                    cache.unfinished[r.trial_id] = None
                    cache.by_number[r.number] = None
                    continue
                cache.by_number[r.number] = t
                for name, d in t.distributions.items():
                    cache.dists.setdefault(name, d)
                if t.state.is_finished():
                    cache.unfinished.pop(r.trial_id, None)
                    cache.finished.add(r.trial_id)
                    self._finished[r.trial_id] = t
                    self._owned.pop(r.trial_id, None)
                else:
                    cache.unfinished[r.trial_id] = t
            return [t for t in cache.by_number if t is not None]

    # ---- heartbeats
    def record_heartbeat(self, trial_id: int) -> None:
        def beat(conn: sa.Connection) -> None:
            now = _utcnow_sql(conn)
            self._upsert(conn, trial_heartbeats, {"trial_id": trial_id}, {"heartbeat": now})
        self._run(beat, atomic=self._upsert_needs_txn)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        assert self.heartbeat_interval is not None
        grace = self.grace_period if self.grace_period is not None else 2 * self.heartbeat_interval

        def get(conn: sa.Connection) -> tuple:
            now = _utcnow_sql(conn)
            rows = conn.execute(sa.select(trials.c.trial_id, trial_heartbeats.c.heartbeat)
                                .join(trial_heartbeats, trial_heartbeats.c.trial_id == trials.c.trial_id)
                                .where(trials.c.study_id == study_id, trials.c.state == "RUNNING")).all()
            return now, rows
        now, rows = self._run(get)
        return [tid for tid, beat in rows if (now - beat).total_seconds() > grace]

    def get_heartbeat_interval(self) -> int | None:
        return self.heartbeat_interval

    def get_heartbeat_stale_trial_callback(self) -> Callable | None:
        return self.heartbeat_stale_trial_callback

    def get_failed_trial_callback(self) -> Callable | None:
        return self.heartbeat_stale_trial_callback

    def remove_session(self) -> None:
        pass

    def upgrade(self) -> None:
        raise NotImplementedError("aimass writes only Optuna's current schema; upgrade an older database with "
                                  "`optuna storage upgrade --storage URL`")


# ---- the statements of the hot paths, built once (bound parameters: tid, sid, ...)
_B = sa.bindparam
_TRIAL_COLS = ["number", "study_id", "state", "datetime_start", "datetime_complete"]
_INSERT_TRIAL = trials.insert().from_select(_TRIAL_COLS, sa.select(
    sa.select(sa.func.count()).select_from(trials).where(trials.c.study_id == _B("sid")).scalar_subquery(),
    studies.c.study_id, _B("state", type_=_state), _B("start", type_=sa.DateTime),
    _B("complete", type_=sa.DateTime)).where(studies.c.study_id == _B("sid")))
_INSERT_TRIAL_RETURNING = _INSERT_TRIAL.returning(trials.c.trial_id, trials.c.number)
_INSERT_PARAM = trial_params.insert().from_select(
    ["trial_id", "param_name", "param_value", "distribution_json"],
    sa.select(_B("tid", type_=sa.Integer), _B("name", type_=_STR), _B("value", type_=_FLOAT), _B("dist", type_=sa.Text))
    .where(trials.c.trial_id == _B("tid"), trials.c.state.in_(_UNFINISHED)))
_FIRST_DIST = sa.select(trial_params.c.distribution_json).join(trials, trials.c.trial_id == trial_params.c.trial_id) \
    .where(trials.c.study_id == _B("sid"), trial_params.c.param_name == _B("name")).limit(1)
_STUDY_OF_TRIAL = sa.select(trials.c.study_id).where(trials.c.trial_id == _B("tid"))
_TRIAL_STATE = sa.select(trials.c.number, trials.c.state).where(trials.c.trial_id == _B("tid"))
_TAKE_WAITING = trials.update().where(trials.c.trial_id == _B("tid"), trials.c.state == "WAITING") \
    .values(state=_B("state"), datetime_start=_B("now"))
_FINISH = trials.update().where(trials.c.trial_id == _B("tid"), trials.c.state.in_(_UNFINISHED)) \
    .values(state=_B("state"), datetime_complete=_B("now"))
_SET_STATE = trials.update().where(trials.c.trial_id == _B("tid"), trials.c.state.in_(_UNFINISHED)) \
    .values(state=_B("state"))
_DELETE_VALUES = trial_values.delete().where(trial_values.c.trial_id == _B("tid"))
_SYNC = sa.select(trials).where(trials.c.study_id == _B("sid"), sa.or_(
    trials.c.trial_id > _B("last"), trials.c.trial_id.in_(_B("ids", expanding=True)))).order_by(trials.c.trial_id)
_UPSERTS: dict[tuple, Any] = {}
_PG_FINISH: dict[int, Any] = {}


def _pg_finish_with_values(n: int) -> Any:
    """PostgreSQL: finish an unfinished trial and insert its n values in one statement (no row when
    the trial was not unfinished)."""
    stmt = _PG_FINISH.get(n)
    if stmt is None:
        rows = ", ".join(f"({i}, CAST(:v{i} AS DOUBLE PRECISION), CAST(:t{i} AS trialvaluetype))" for i in range(n))
        stmt = _PG_FINISH[n] = sa.text(
            "WITH u AS (UPDATE trials SET state = CAST(:state AS trialstate), datetime_complete = :now "
            "WHERE trial_id = :tid AND state IN ('RUNNING', 'WAITING') RETURNING trial_id) "
            "INSERT INTO trial_values (trial_id, objective, value, value_type) "
            f"SELECT u.trial_id, v.objective, v.value, v.value_type FROM u, (VALUES {rows}) AS v(objective, value, "
            "value_type) RETURNING trial_value_id")
    return stmt


def _upsert_stmt(dialect: str, table: sa.Table, key: tuple, value: tuple, guard: bool) -> Any:
    """INSERT ... SELECT :columns [WHERE the trial :guard is unfinished] ON CONFLICT (key) DO UPDATE."""
    k = (dialect, table.name, key, value, guard)
    stmt = _UPSERTS.get(k)
    if stmt is None:
        mod = _sqlite if dialect == "sqlite" else _pg
        cols = key + value
        src = sa.select(*[_B(c, type_=table.c[c].type) for c in cols])
        src = src.where(sa.exists().where(trials.c.trial_id == _B("guard"), trials.c.state.in_(_UNFINISHED))) \
            if guard else src.where(sa.true())  # SQLite needs a WHERE before ON CONFLICT
        ins = mod.insert(table).from_select(list(cols), src)
        stmt = _UPSERTS[k] = ins.on_conflict_do_update(index_elements=list(key),
                                                       set_={c: ins.excluded[c] for c in value})
    return stmt


def _details_query(ids: Any) -> sa.Select:
    """(kind, trial_id, key, number, text, index) rows: 0 params, 1 values, 2 intermediate values,
    3 user attributes, 4 system attributes."""
    p, v, iv, ua, sy = trial_params, trial_values, trial_intermediate_values, trial_user_attributes, \
        trial_system_attributes
    null_s, null_f, null_i = sa.null().cast(_STR), sa.null().cast(_FLOAT), sa.null().cast(sa.Integer)
    return sa.union_all(
        sa.select(sa.literal(0), p.c.trial_id, p.c.param_name, p.c.param_value, p.c.distribution_json, null_i)
        .where(p.c.trial_id.in_(ids)),
        sa.select(sa.literal(1), v.c.trial_id, null_s, v.c.value, sa.cast(v.c.value_type, sa.Text), v.c.objective)
        .where(v.c.trial_id.in_(ids)),
        sa.select(sa.literal(2), iv.c.trial_id, null_s, iv.c.intermediate_value,
                  sa.cast(iv.c.intermediate_value_type, sa.Text), iv.c.step).where(iv.c.trial_id.in_(ids)),
        sa.select(sa.literal(3), ua.c.trial_id, ua.c.key, null_f, ua.c.value_json, null_i)
        .where(ua.c.trial_id.in_(ids)),
        sa.select(sa.literal(4), sy.c.trial_id, sy.c.key, null_f, sy.c.value_json, null_i)
        .where(sy.c.trial_id.in_(ids)))


_DETAILS = _details_query(_B("ids", expanding=True))


def _utcnow_sql(conn: sa.Connection) -> datetime.datetime:
    """The database's clock as naive time (UTC for SQLite; the session's time zone elsewhere, as Optuna)."""
    if conn.dialect.name == "sqlite":
        return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return conn.execute(sa.select(sa.func.now())).scalar().replace(tzinfo=None)


def _is_transient(e: sa.exc.DBAPIError) -> bool:
    """Locked / busy (SQLite), deadlock or serialization failure (PostgreSQL, MySQL): retry."""
    code = getattr(e.orig, "pgcode", None)
    if code in ("40P01", "40001"):
        return True
    text = str(e.orig).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock" in text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL: readers do not block the writer, and a commit is an append (no journal file per commit)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def storage_for_url(url: str) -> RDBStorage:
    """The storage for create_study(storage=url): an RDBStorage (it caches finished trials itself)."""
    return RDBStorage(url)
