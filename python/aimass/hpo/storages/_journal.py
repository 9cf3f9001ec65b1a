"""Studies in an append-only journal: every storage call appends one JSON line (Optuna's journal
format: {"op_code": N, "worker_id": ..., ...}, so Optuna reads our journals and we read its) and
replays the lines it has not read yet. All workers replay the same lines in the same order, so they
agree on every id and on who won a race (two workers taking the same WAITING trial: the first line
wins). For many processes on one machine or a shared file system; appends are serialised by a lock
file (symlink or O_EXCL), reads need no lock.
"""
from __future__ import annotations

import copy
import datetime
import enum
import errno
import json
import os
import threading
import time
import uuid
from typing import Any, Container, Iterator, Sequence

from ..distributions import BaseDistribution, check_distribution_compatibility, distribution_to_json, \
    json_to_distribution
from ..exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from ..logging import get_logger
from ..study._direction import StudyDirection
from ..study._frozen import FrozenStudy
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import DEFAULT_STUDY_NAME_PREFIX, BaseStorage

_logger = get_logger(__name__)
LOCK_FILE_SUFFIX = ".lock"
RENAME_FILE_SUFFIX = ".rename"


class JournalOperation(enum.IntEnum):
    CREATE_STUDY = 0
    DELETE_STUDY = 1
    SET_STUDY_USER_ATTR = 2
    SET_STUDY_SYSTEM_ATTR = 3
    CREATE_TRIAL = 4
    SET_TRIAL_PARAM = 5
    SET_TRIAL_STATE_VALUES = 6
    SET_TRIAL_INTERMEDIATE_VALUE = 7
    SET_TRIAL_USER_ATTR = 8
    SET_TRIAL_SYSTEM_ATTR = 9
    DISCARD_TRIALS = 10  # written by rustuna only; skipped


# ---- locks
class BaseJournalFileLock:
    def acquire(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError


class _FileLock(BaseJournalFileLock):
    """Held while <file>.lock exists; a lock file untouched for grace_period seconds is taken as
    left by a dead process and removed."""

    def __init__(self, filepath: str, grace_period: int | None = 30) -> None:
        if grace_period is not None and grace_period <= 0:
            raise ValueError("The value of `grace_period` should be a positive integer.")
        self._target = filepath
        self._lock_file = filepath + LOCK_FILE_SUFFIX
        self.grace_period = grace_period

    def _try_create(self) -> None:
        raise NotImplementedError

    def acquire(self) -> bool:
        sleep, mtime, since = 1e-4, None, time.monotonic()
        while True:
            try:
                self._try_create()
                return True
            except OSError as e:
                if e.errno != errno.EEXIST:
                    raise
            if self.grace_period is not None:
                try:
                    current = os.lstat(self._lock_file).st_mtime  # the link itself, not its target
                except OSError:
                    continue  # released meanwhile
                if current != mtime:
                    mtime, since = current, time.monotonic()
                elif time.monotonic() - since > self.grace_period:
                    _logger.warning(f"The lock file {self._lock_file} was not released for {self.grace_period} s; "
                                    f"removing it.")
                    try:
                        self.release()
                    except RuntimeError:
                        pass
                    continue
            time.sleep(sleep)
            sleep = min(sleep * 2, 0.05)

    def release(self) -> None:
        # rename first, so that two processes removing a stale lock cannot remove a new one
        moved = f"{self._lock_file}{uuid.uuid4()}{RENAME_FILE_SUFFIX}"
        try:
            os.rename(self._lock_file, moved)
        except OSError:
            raise RuntimeError(f"Error: did not possess lock {self._lock_file}") from None
        os.unlink(moved)


class JournalFileSymlinkLock(_FileLock):
    """The lock is a symbolic link <file>.lock (atomic on NFSv2 and later)."""

    def _try_create(self) -> None:
        os.symlink(self._target, self._lock_file)


class JournalFileOpenLock(_FileLock):
    """The lock is a file <file>.lock created with O_CREAT | O_EXCL (NFSv3 and later, and Windows)."""

    def _try_create(self) -> None:
        os.close(os.open(self._lock_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY))


# ---- the file backend
class BaseJournalBackend:
    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        raise NotImplementedError


class JournalFileBackend(BaseJournalBackend):
    """The journal in a file, one JSON record a line. read_logs(n) reads on from where the last read
    stopped (it remembers the byte offset of the line it reached); a last line without its newline
    is one another process is still writing and is left for the next read."""

    def __init__(self, file_path: str, lock_obj: BaseJournalFileLock | None = None, *, fsync: bool = False) -> None:
        file_path = os.fspath(file_path)
        folder = os.path.dirname(os.path.abspath(file_path))
        if not os.path.isdir(folder):
            raise ValueError(f"journal file {file_path!r}: the folder {folder!r} does not exist")
        self._file_path = file_path
        self._lock = lock_obj or JournalFileSymlinkLock(file_path)
        self._fsync = fsync
        if not os.path.exists(file_path):
            open(file_path, "ab").close()
        self._read_at = (0, 0)  # (log number, byte offset) where the last read stopped

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        number, offset = self._read_at if self._read_at[0] <= log_number_from else (0, 0)
        with open(self._file_path, "rb") as f:
            f.seek(offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        out = []
        pos = 0
        while pos < end:
            nl = data.index(b"\n", pos)
            if number >= log_number_from:
                line = data[pos:nl]
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise ValueError(f"journal file {self._file_path!r}, line {number + 1}: not a JSON record "
                                     f"({e}): {line[:200]!r}") from None
            number += 1
            pos = nl + 1
        self._read_at = (number, offset + end)
        return iter(out)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(log, separators=(",", ":")) + "\n" for log in logs).encode()
        self._lock.acquire()
        try:
            fd = os.open(self._file_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, text)
                if self._fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            self._lock.release()


JournalFileStorage = JournalFileBackend  # Optuna's older name


# ---- the storage
def _iso(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.timezone.utc).isoformat(timespec="microseconds")


def _from_iso(text: str | None) -> datetime.datetime | None:
    return None if text is None else datetime.datetime.fromisoformat(text).astimezone().replace(tzinfo=None)


class _Replay:
    """The state the journal's lines describe, applied line by line as Optuna applies them. A line
    that fails (unknown study, finished trial, incompatible distribution) is skipped, and raised
    only to the worker that wrote it."""

    def __init__(self, worker_prefix: str) -> None:
        self.n_read = 0
        self.prefix = worker_prefix
        self.studies: dict[int, FrozenStudy] = {}
        self.names: dict[str, int] = {}
        self.trials: list[FrozenTrial] = []  # by trial id
        self.trial_study: list[int] = []  # trial id -> study id
        self.study_trials: dict[int, list[int]] = {}
        self.study_dists: dict[int, dict[str, BaseDistribution]] = {}
        self.next_study_id = 0
        self.owned: dict[str, int] = {}  # worker id -> the trial it created or took last
        self.last_created = -1
        self.error: Exception | None = None  # raised by the line this worker wrote
        self.dist_cache: dict[str, BaseDistribution] = {}

    def mine(self, log: dict) -> bool:
        return log["worker_id"] == self.prefix + str(threading.get_ident())

    def fail(self, log: dict, err: Exception) -> None:
        if self.mine(log):
            self.error = err

    def apply(self, logs: Iterator[dict]) -> None:
        for log in logs:
            self.n_read += 1
            op = log["op_code"]
            handler = _HANDLERS.get(op)
            if handler is None:
                if op != JournalOperation.DISCARD_TRIALS:
                    raise ValueError(f"journal line {self.n_read}: unknown op_code {op!r}")
                continue
            handler(self, log)

    def _study(self, log: dict) -> int | None:
        sid = log["study_id"]
        if sid in self.studies:
            return sid
        self.fail(log, KeyError(f"No study with study_id {sid} exists."))
        return None

    def _trial(self, log: dict) -> FrozenTrial | None:
        tid = log["trial_id"]
        if not 0 <= tid < len(self.trials) or self.trial_study[tid] not in self.studies:
            self.fail(log, KeyError(f"No trial with trial_id {tid} exists."))
            return None
        t = self.trials[tid]
        if t.state.is_finished():
            self.fail(log, UpdateFinishedTrialError(f"Trial#{t.number} has already finished and can not be "
                                                    f"updated."))
            return None
        return t

    def dist(self, text: Any) -> BaseDistribution:
        key = text if isinstance(text, str) else json.dumps(text)
        d = self.dist_cache.get(key)
        if d is None:
            d = self.dist_cache[key] = json_to_distribution(key)
        return d

    def create_study(self, log: dict) -> None:
        name = log["study_name"]
        if name in self.names:
            self.fail(log, DuplicatedStudyError(f"Another study with name '{name}' already exists. Please specify a "
                                                f"different name, or reuse the existing one by setting "
                                                f"`load_if_exists` (for Python API) or `--skip-if-exists` flag (for "
                                                f"CLI)."))
            return
        sid = self.next_study_id
        self.next_study_id += 1
        self.studies[sid] = FrozenStudy(name, None, {}, {}, sid,
                                        directions=[StudyDirection(d) for d in log["directions"]])
        self.names[name] = sid
        self.study_trials[sid] = []
        self.study_dists[sid] = {}

    def delete_study(self, log: dict) -> None:
        sid = self._study(log)
        if sid is not None:
            del self.names[self.studies.pop(sid).study_name]

    def set_study_attr(self, log: dict) -> None:
        sid = self._study(log)
        if sid is not None:
            study = self.studies[sid]
            if "user_attr" in log:
                study.user_attrs = {**study.user_attrs, **log["user_attr"]}
            else:
                study.system_attrs = {**study.system_attrs, **log["system_attr"]}

    def create_trial(self, log: dict) -> None:
        sid = self._study(log)
        if sid is None:
            return
        tid = len(self.trials)
        dists = {k: self.dist(v) for k, v in log.get("distributions", {}).items()}
        params = {k: dists[k].to_external_repr(v) for k, v in log.get("params", {}).items()}
        values = log.get("values")
        value = log.get("value")
        t = FrozenTrial(len(self.study_trials[sid]), TrialState(log.get("state", TrialState.RUNNING)), None,
                        _from_iso(log.get("datetime_start")), _from_iso(log.get("datetime_complete")), params, dists,
                        log.get("user_attrs", {}), log.get("system_attrs", {}),
                        {int(k): v for k, v in log.get("intermediate_values", {}).items()}, tid,
                        values=values if values is not None else (None if value is None else [value]))
        self.trials.append(t)
        self.trial_study.append(sid)
        self.study_trials[sid].append(tid)
        seen = self.study_dists[sid]
        for k, d in dists.items():
            seen.setdefault(k, d)
        if self.mine(log):
            self.last_created = tid
            if t.state == TrialState.RUNNING:
                self.owned[log["worker_id"]] = tid

    def set_trial_param(self, log: dict) -> None:
        t = self._trial(log)
        if t is None:
            return
        name, dist = log["param_name"], self.dist(log["distribution"])
        seen = self.study_dists[self.trial_study[t._trial_id]]
        if name in seen:
            try:
                check_distribution_compatibility(seen[name], dist)
            except Exception as e:  # noqa: BLE001 - raised to the writer only
                self.fail(log, e)
                return
        else:
            seen[name] = dist
        t.params[name] = dist.to_external_repr(log["param_value_internal"])
        t.distributions[name] = dist

    def set_trial_state_values(self, log: dict) -> None:
        t = self._trial(log)
        if t is None:
            return
        state = TrialState(log["state"])
        if state == TrialState.RUNNING:
            if t.state == TrialState.RUNNING:
                return  # another worker took it first
            t.datetime_start = _from_iso(log["datetime_start"])
            if self.mine(log):
                self.owned[log["worker_id"]] = t._trial_id
        if state.is_finished():
            t.datetime_complete = _from_iso(log["datetime_complete"])
        t.state = state
        if log.get("values") is not None:
            t.values = log["values"]

    def set_trial_intermediate_value(self, log: dict) -> None:
        t = self._trial(log)
        if t is not None:
            t.intermediate_values[int(log["step"])] = log["intermediate_value"]

    def set_trial_attr(self, log: dict) -> None:
        t = self._trial(log)
        if t is not None:
            if "user_attr" in log:
                t.user_attrs.update(log["user_attr"])
            else:
                t.system_attrs.update(log["system_attr"])


_HANDLERS = {
    JournalOperation.CREATE_STUDY: _Replay.create_study, JournalOperation.DELETE_STUDY: _Replay.delete_study,
    JournalOperation.SET_STUDY_USER_ATTR: _Replay.set_study_attr,
    JournalOperation.SET_STUDY_SYSTEM_ATTR: _Replay.set_study_attr, JournalOperation.CREATE_TRIAL: _Replay.create_trial,
    JournalOperation.SET_TRIAL_PARAM: _Replay.set_trial_param,
    JournalOperation.SET_TRIAL_STATE_VALUES: _Replay.set_trial_state_values,
    JournalOperation.SET_TRIAL_INTERMEDIATE_VALUE: _Replay.set_trial_intermediate_value,
    JournalOperation.SET_TRIAL_USER_ATTR: _Replay.set_trial_attr,
    JournalOperation.SET_TRIAL_SYSTEM_ATTR: _Replay.set_trial_attr,
}
_HANDLERS = {int(k): v for k, v in _HANDLERS.items()}


class JournalStorage(BaseStorage):
    def __init__(self, log_storage: BaseJournalBackend) -> None:
        if isinstance(log_storage, (str, os.PathLike)):
            raise TypeError("JournalStorage takes a backend: JournalStorage(JournalFileBackend(path))")
        self._backend = log_storage
        self._prefix = str(uuid.uuid4()) + "-"
        self._lock = threading.Lock()
        self._replay = _Replay(self._prefix)
        with self._lock:
            self._sync()

    def __getstate__(self) -> dict:
        return {"_backend": self._backend}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["_backend"])

    # ---- writing and replaying (the lock is held)
    def _sync(self) -> None:
        self._replay.apply(self._backend.read_logs(self._replay.n_read))

    def _write(self, op: JournalOperation, fields: dict) -> None:
        """Append the line, replay up to it, raise what it did wrong."""
        self._backend.append_logs([{"op_code": int(op), "worker_id": self._prefix + str(threading.get_ident()),
                                    **fields}])
        self._replay.error = None
        self._sync()
        err, self._replay.error = self._replay.error, None
        if err is not None:
            raise err

    def _study(self, study_id: int) -> FrozenStudy:
        s = self._replay.studies.get(study_id)
        if s is None:
            raise KeyError(f"No study with study_id {study_id} exists.")
        return s

    def _trial(self, trial_id: int) -> FrozenTrial:
        r = self._replay
        if not 0 <= trial_id < len(r.trials) or r.trial_study[trial_id] not in r.studies:
            raise KeyError(f"No trial with trial_id {trial_id} exists.")
        return r.trials[trial_id]

    # ---- studies
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        name = study_name or DEFAULT_STUDY_NAME_PREFIX + str(uuid.uuid4())
        with self._lock:
            self._write(JournalOperation.CREATE_STUDY, {"study_name": name, "directions": [int(d) for d in directions]})
            return self._replay.names[name]

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            self._write(JournalOperation.DELETE_STUDY, {"study_id": study_id})

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._write(JournalOperation.SET_STUDY_USER_ATTR, {"study_id": study_id, "user_attr": {key: value}})

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._write(JournalOperation.SET_STUDY_SYSTEM_ATTR, {"study_id": study_id, "system_attr": {key: value}})

    def get_study_id_from_name(self, study_name: str) -> int:
        with self._lock:
            self._sync()
            if study_name not in self._replay.names:
                raise KeyError(f"No study named '{study_name}' in the journal {self._where()}.")
            return self._replay.names[study_name]

    def _where(self) -> str:
        return repr(getattr(self._backend, "_file_path", type(self._backend).__name__))

    def get_study_name_from_id(self, study_id: int) -> str:
        with self._lock:
            self._sync()
            return self._study(study_id).study_name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        with self._lock:
            self._sync()
            return list(self._study(study_id).directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            self._sync()
            return dict(self._study(study_id).user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            self._sync()
            return dict(self._study(study_id).system_attrs)

    def get_all_studies(self) -> list[FrozenStudy]:
        with self._lock:
            self._sync()
            return copy.deepcopy(list(self._replay.studies.values()))

    # ---- trials
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        log: dict[str, Any] = {"study_id": study_id, "datetime_start": _iso(datetime.datetime.now())}
        t = template_trial
        if t is not None:
            log["state"] = int(t.state)
            multi = t.values is not None and len(t.values) > 1
            log["value"] = None if multi or t.values is None else t.values[0]
            log["values"] = t.values if multi else None
            log["datetime_start"] = _iso(t.datetime_start) if t.datetime_start else None
            if t.datetime_complete:
                log["datetime_complete"] = _iso(t.datetime_complete)
            log["distributions"] = {k: distribution_to_json(d) for k, d in t.distributions.items()}
            log["params"] = {k: t.distributions[k].to_internal_repr(v) for k, v in t.params.items()}
            log["user_attrs"] = t.user_attrs
            log["system_attrs"] = t.system_attrs
            log["intermediate_values"] = t.intermediate_values
        with self._lock:
            self._write(JournalOperation.CREATE_TRIAL, log)
            return self._replay.last_created

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: BaseDistribution) -> None:
        with self._lock:
            self._write(JournalOperation.SET_TRIAL_PARAM, {
                "trial_id": trial_id, "param_name": param_name, "param_value_internal": param_value_internal,
                "distribution": distribution_to_json(distribution)})

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        with self._lock:
            self._sync()
            ids = self._replay.study_trials.get(study_id, [])
            if not 0 <= trial_number < len(ids):
                raise KeyError(f"No trial with trial number {trial_number} exists in study with study_id {study_id}.")
            return ids[trial_number]

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        log: dict[str, Any] = {"trial_id": trial_id, "state": int(state),
                               "values": None if values is None else [float(v) for v in values]}
        if state == TrialState.RUNNING:
            log["datetime_start"] = _iso(datetime.datetime.now())
        elif state.is_finished():
            log["datetime_complete"] = _iso(datetime.datetime.now())
        worker = self._prefix + str(threading.get_ident())
        with self._lock:
            if state == TrialState.RUNNING:
                self._sync()
                if self._trial(trial_id).state != TrialState.WAITING:
                    return False  # another worker took (and maybe finished) it first
            self._write(JournalOperation.SET_TRIAL_STATE_VALUES, log)
            return state != TrialState.RUNNING or self._replay.owned.get(worker) == trial_id

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        with self._lock:
            self._write(JournalOperation.SET_TRIAL_INTERMEDIATE_VALUE,
                        {"trial_id": trial_id, "step": step, "intermediate_value": intermediate_value})

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._write(JournalOperation.SET_TRIAL_USER_ATTR, {"trial_id": trial_id, "user_attr": {key: value}})

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._write(JournalOperation.SET_TRIAL_SYSTEM_ATTR, {"trial_id": trial_id, "system_attr": {key: value}})

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            self._sync()
            return self._trial(trial_id)

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        with self._lock:
            self._sync()
            self._study(study_id)
            r = self._replay
            out = [r.trials[i] for i in r.study_trials[study_id]]
            if states is not None:
                out = [t for t in out if t.state in states]
            return copy.deepcopy(out) if deepcopy else out
