"""The default storage: studies in this process's memory, safe for the threads of ``n_jobs``."""
from __future__ import annotations

import copy
import datetime
import threading
import uuid
from typing import Any, Container, Sequence

from ..distributions import BaseDistribution, check_distribution_compatibility
from ..exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from ..study._direction import StudyDirection
from ..study._frozen import FrozenStudy
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import DEFAULT_STUDY_NAME_PREFIX, BaseStorage


class _Study:
    __slots__ = ("name", "directions", "user_attrs", "system_attrs", "trials", "distributions", "best_trial_id", "waiting")

    def __init__(self, name: str, directions: list[StudyDirection]) -> None:
        self.name = name
        self.directions = directions
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.trials: list[FrozenTrial] = []  # by number
        self.distributions: dict[str, BaseDistribution] = {}  # each parameter's first distribution
        self.best_trial_id: int | None = None  # kept as trials complete (single objective)
        self.waiting: list[int] = []  # ids of the WAITING trials, oldest first


class InMemoryStorage(BaseStorage):
    def __init__(self) -> None:
        self._studies: dict[int, _Study] = {}
        self._names: dict[str, int] = {}
        self._trial_owner: dict[int, tuple[int, int]] = {}  # trial id -> (study id, number)
        self._next_study_id = 0
        self._next_trial_id = 0
        self._lock = threading.RLock()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # ---- studies
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        with self._lock:
            name = study_name or DEFAULT_STUDY_NAME_PREFIX + str(uuid.uuid4())
            if name in self._names:
                raise DuplicatedStudyError(f"Another study with name '{name}' already exists. Please specify a "
                                           f"different name, or reuse the existing one by setting "
                                           f"`load_if_exists` (for Python API) or `--skip-if-exists` flag (for CLI).")
            study_id = self._next_study_id
            self._next_study_id += 1
            self._studies[study_id] = _Study(name, list(directions))
            self._names[name] = study_id
            return study_id

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            study = self._study(study_id)
            for t in study.trials:
                self._trial_owner.pop(t._trial_id, None)
            del self._names[study.name]
            del self._studies[study_id]

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).user_attrs[key] = value

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).system_attrs[key] = value

    def get_study_id_from_name(self, study_name: str) -> int:
        with self._lock:
            if study_name not in self._names:
                raise KeyError(f"No such study {study_name}.")
            return self._names[study_name]

    def get_study_name_from_id(self, study_id: int) -> str:
        with self._lock:
            return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        with self._lock:
            return list(self._study(study_id).directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._study(study_id).user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self._study(study_id).system_attrs)

    def get_all_studies(self) -> list[FrozenStudy]:
        with self._lock:
            return [FrozenStudy(s.name, None, dict(s.user_attrs), dict(s.system_attrs), sid, directions=s.directions)
                    for sid, s in self._studies.items()]

    # ---- trials
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        with self._lock:
            study = self._study(study_id)
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            number = len(study.trials)
            if template_trial is None:
                trial = FrozenTrial(number, TrialState.RUNNING, None, datetime.datetime.now(), None, {}, {}, {}, {}, {},
                                    trial_id)
            else:
                trial = copy.deepcopy(template_trial)
                trial.number, trial._trial_id = number, trial_id
                for name, dist in trial.distributions.items():
                    self._check_and_record(study, name, dist)
            study.trials.append(trial)
            self._trial_owner[trial_id] = (study_id, number)
            if trial.state == TrialState.WAITING:
                study.waiting.append(trial_id)
            if trial.state == TrialState.COMPLETE:
                self._update_best(study, trial)
            return trial_id

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: BaseDistribution) -> None:
        with self._lock:
            study, trial = self._updatable(trial_id)
            self._check_and_record(study, param_name, distribution)
            trial.params[param_name] = distribution.to_external_repr(param_value_internal)
            trial.distributions[param_name] = distribution

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if not 0 <= trial_number < len(trials):
                raise KeyError(f"No trial with trial number {trial_number} exists in study with study_id {study_id}.")
            return trials[trial_number]._trial_id

    def get_trial_number_from_id(self, trial_id: int) -> int:
        with self._lock:
            return self._owner(trial_id)[1]

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        with self._lock:
            study_id, number = self._owner(trial_id)
            if state == TrialState.RUNNING and self._studies[study_id].trials[number].state != TrialState.WAITING:
                return False  # another worker took it first (and may have finished it)
            study, trial = self._updatable(trial_id)
            if trial.state == TrialState.WAITING:
                study.waiting.remove(trial_id)
            trial.state = state
            if values is not None:
                trial.values = list(values)
            if state == TrialState.RUNNING:
                trial.datetime_start = datetime.datetime.now()
            if state.is_finished():
                trial.datetime_complete = datetime.datetime.now()
            if state == TrialState.COMPLETE:
                self._update_best(study, trial)
            return True

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        with self._lock:
            self._updatable(trial_id)[1].intermediate_values[step] = intermediate_value

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._updatable(trial_id)[1].user_attrs[key] = value

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._updatable(trial_id)[1].system_attrs[key] = value

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            study_id, number = self._owner(trial_id)
            return self._studies[study_id].trials[number]

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        with self._lock:
            trials = self._study(study_id).trials
            if states is not None:
                trials = [t for t in trials if t.state in states]
            return copy.deepcopy(trials) if deepcopy else list(trials)

    def get_waiting_trial_ids(self, study_id: int) -> list[int]:
        with self._lock:
            return list(self._study(study_id).waiting)

    def get_n_trials(self, study_id: int, state: tuple[TrialState, ...] | TrialState | None = None) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if state is None:
                return len(trials)
            states = (state,) if isinstance(state, TrialState) else state
            return sum(1 for t in trials if t.state in states)

    def get_best_trial(self, study_id: int) -> FrozenTrial:
        with self._lock:
            study = self._study(study_id)
            if len(study.directions) > 1:
                raise RuntimeError("Best trial can be obtained only for single-objective optimization.")
            if study.best_trial_id is None:
                raise ValueError("No trials are completed yet.")
            return self.get_trial(study.best_trial_id)

    # ---- helpers (the lock is held)
    def _study(self, study_id: int) -> _Study:
        if study_id not in self._studies:
            raise KeyError(f"No study with study_id {study_id} exists.")
        return self._studies[study_id]

    def _owner(self, trial_id: int) -> tuple[int, int]:
        if trial_id not in self._trial_owner:
            raise KeyError(f"No trial with trial_id {trial_id} exists.")
        return self._trial_owner[trial_id]

    def _updatable(self, trial_id: int) -> tuple[_Study, FrozenTrial]:
        study_id, number = self._owner(trial_id)
        study = self._studies[study_id]
        trial = study.trials[number]
        if trial.state.is_finished():
            raise UpdateFinishedTrialError(f"Trial#{number} has already finished and can not be updated.")
        return study, trial

    @staticmethod
    def _check_and_record(study: _Study, name: str, dist: BaseDistribution) -> None:
        if name in study.distributions:
            check_distribution_compatibility(study.distributions[name], dist)
        else:
            study.distributions[name] = dist

    def _update_best(self, study: _Study, trial: FrozenTrial) -> None:
        if len(study.directions) != 1 or trial.values is None:
            return
        if study.best_trial_id is None:
            study.best_trial_id = trial._trial_id
            return
        best = self.get_trial(study.best_trial_id).values[0]
        v = trial.values[0]
        if (v < best) if study.directions[0] == StudyDirection.MINIMIZE else (v > best):
            study.best_trial_id = trial._trial_id
