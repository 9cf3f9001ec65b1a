from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Callable, Container, Iterable, Sequence

from .. import distributions as _dist
from ..trial._frozen import FrozenTrial, create_trial
from ..trial._state import TrialState
from ..trial._trial import Trial
from . import _optimize, _tell
from ._direction import StudyDirection
from ._frozen import StudySummary

if TYPE_CHECKING:
    from ..storages._base import BaseStorage


def get_storage(storage: Any) -> "BaseStorage":
    from ..storages import get_storage as get
    return get(storage)


class Study:
    """A search: trials of one objective (or several), a sampler that proposes parameters, a pruner
    that stops unpromising trials, and the storage that keeps them (shared by many workers)."""

    def __init__(self, study_name: str, storage: "str | BaseStorage", sampler: Any = None, pruner: Any = None) -> None:
        from ..pruners import MedianPruner
        self.study_name = study_name
        self._storage = get_storage(storage)
        self._study_id = self._storage.get_study_id_from_name(study_name)
        self._directions = self._storage.get_study_directions(self._study_id)
        self.sampler = sampler or _default_sampler(len(self._directions))
        self.pruner = pruner or MedianPruner()
        self._stop_flag = False

    def __getstate__(self) -> dict:
        return self.__dict__.copy()

    # ---- results
    @property
    def best_trial(self) -> FrozenTrial:
        """The best COMPLETE trial (the best feasible one when trials set constraints)."""
        if self._is_multi_objective():
            raise RuntimeError("A single best trial cannot be retrieved from a multi-objective study. Consider "
                               "using Study.best_trials to retrieve a list containing the best trials.")
        best = self._storage.get_best_trial(self._study_id)
        if not _feasible(best):
            feasible = [t for t in self._get_trials(False, (TrialState.COMPLETE,)) if _feasible(t)]
            if not feasible:
                raise ValueError("No feasible trials are completed yet.")
            pick = max if self.direction == StudyDirection.MAXIMIZE else min
            best = pick(feasible, key=lambda t: t.values[0])
        return copy.deepcopy(best)

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best_trial.params

    @property
    def best_value(self) -> float:
        return self.best_trial.value

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front of the COMPLETE (feasible, when constrained) trials."""
        from ._multi_objective import pareto_front_trials
        trials = [t for t in self._get_trials(False, (TrialState.COMPLETE,)) if _feasible(t)]
        return copy.deepcopy(pareto_front_trials(trials, self._directions))

    @property
    def direction(self) -> StudyDirection:
        if self._is_multi_objective():
            raise RuntimeError("A single direction cannot be retrieved from a multi-objective study. Consider "
                               "using Study.directions to retrieve a list containing all directions.")
        return self._directions[0]

    @property
    def directions(self) -> list[StudyDirection]:
        return list(self._directions)

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials(deepcopy=True)

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        return self._storage.get_all_trials(self._study_id, deepcopy=deepcopy, states=states)

    def _get_trials(self, deepcopy: bool = False, states: Container[TrialState] | None = None,
                    use_cache: bool = False) -> list[FrozenTrial]:
        return self._storage.get_all_trials(self._study_id, deepcopy=deepcopy, states=states)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return copy.deepcopy(self._storage.get_study_user_attrs(self._study_id))

    @property
    def system_attrs(self) -> dict[str, Any]:
        return copy.deepcopy(self._storage.get_study_system_attrs(self._study_id))

    @property
    def metric_names(self) -> list[str] | None:
        return self._storage.get_study_system_attrs(self._study_id).get("study:metric_names")

    def set_metric_names(self, metric_names: list[str]) -> None:
        if len(metric_names) != len(self._directions):
            raise ValueError("The number of objectives must match the length of the metric names.")
        self._storage.set_study_system_attr(self._study_id, "study:metric_names", list(metric_names))

    def set_user_attr(self, key: str, value: Any) -> None:
        self._storage.set_study_user_attr(self._study_id, key, value)

    def set_system_attr(self, key: str, value: Any) -> None:
        self._storage.set_study_system_attr(self._study_id, key, value)

    # ---- running
    def optimize(self, func: Callable[[Trial], float | Sequence[float]], n_trials: int | None = None,
                 timeout: float | None = None, n_jobs: int = 1, catch: Iterable[type[Exception]] | type[Exception] = (),
                 callbacks: Iterable[Callable[["Study", FrozenTrial], None]] | None = None,
                 gc_after_trial: bool = False, show_progress_bar: bool = False) -> None:
        """Run trials of func until n_trials (or timeout seconds, or ``stop()``). An exception from func
        marks the trial FAIL and is raised again unless it is one of catch; TrialPruned marks it PRUNED."""
        _optimize.optimize(self, func, n_trials, timeout, n_jobs, tuple(catch) if isinstance(catch, (list, tuple, set))
                           else catch, list(callbacks) if callbacks is not None else None, gc_after_trial,
                           show_progress_bar)

    def ask(self, fixed_distributions: dict[str, _dist.BaseDistribution] | None = None) -> Trial:
        """A new RUNNING trial (the oldest enqueued one, when there is one) to run outside optimize."""
        trial_id = self._pop_waiting_trial_id()
        if trial_id is None:
            trial_id = self._storage.create_new_trial(self._study_id)
        self.sampler.before_trial(self, self._storage.get_trial(trial_id))
        trial = Trial(self, trial_id)
        for name, dist in (fixed_distributions or {}).items():
            trial._suggest(name, dist)
        return trial

    def tell(self, trial: Trial | int, values: float | Sequence[float] | None = None, state: TrialState | None = None,
             skip_if_finished: bool = False) -> FrozenTrial:
        """Finish a trial from ask: COMPLETE with its values, or PRUNED / FAIL."""
        return self._tell(trial, values, state, skip_if_finished=skip_if_finished, warn=True)[0]

    def _tell(self, trial: Any, values: Any, state: TrialState | None, skip_if_finished: bool = False,
              warn: bool = False) -> tuple[FrozenTrial, str | None]:
        return _tell.tell(self, trial, values, state, skip_if_finished, warn)

    def stop(self) -> None:
        """Stop optimize after the running trials (call it from the objective or a callback)."""
        self._stop_flag = True

    def enqueue_trial(self, params: dict[str, Any], user_attrs: dict[str, Any] | None = None,
                      skip_if_exists: bool = False) -> None:
        """Queue a trial with these parameters: the next ask takes it (exactly once, across workers)."""
        if skip_if_exists and self._has_trial_with_params(params):
            return
        self.add_trial(create_trial(state=TrialState.WAITING, system_attrs={"fixed_params": dict(params)},
                                    user_attrs=user_attrs))

    def add_trial(self, trial: FrozenTrial) -> None:
        """Add a finished (or WAITING) trial made with create_trial, as if it had been run here."""
        trial._validate()
        if trial.values is not None and len(trial.values) != len(self._directions):
            raise ValueError(f"The added trial has {len(trial.values)} values but the study has "
                             f"{len(self._directions)} objectives.")
        self._storage.create_new_trial(self._study_id, template_trial=trial)

    def add_trials(self, trials: Iterable[FrozenTrial]) -> None:
        for trial in trials:
            self.add_trial(trial)

    def _pop_waiting_trial_id(self) -> int | None:
        for trial_id in self._storage.get_waiting_trial_ids(self._study_id):
            if self._storage.set_trial_state_values(trial_id, TrialState.RUNNING):
                return trial_id
        return None

    def _has_trial_with_params(self, params: dict[str, Any]) -> bool:
        for t in self._storage.get_all_trials(self._study_id, deepcopy=False):
            if t.state == TrialState.WAITING and t.system_attrs.get("fixed_params") == params:
                return True
            if t.state != TrialState.WAITING and t.params == params:
                return True
        return False

    def _is_multi_objective(self) -> bool:
        return len(self._directions) > 1

    def trials_dataframe(self, attrs: tuple[str, ...] = ("number", "value", "datetime_start", "datetime_complete",
                                                         "duration", "params", "user_attrs", "system_attrs", "state"),
                         multi_index: bool = False) -> Any:
        """The trials as a pandas DataFrame, one row each (columns as Optuna's)."""
        from ._dataframe import trials_dataframe
        return trials_dataframe(self, attrs, multi_index)


def _feasible(trial: FrozenTrial) -> bool:
    return all(c <= 0 for c in trial.constraints.values())


def _default_sampler(n_objectives: int) -> Any:
    from .. import samplers
    if n_objectives > 1 and hasattr(samplers, "NSGAIISampler"):
        return samplers.NSGAIISampler()
    return samplers.TPESampler() if hasattr(samplers, "TPESampler") else samplers.RandomSampler()


def _directions_of(direction: Any, directions: Sequence[Any] | None) -> list[StudyDirection]:
    if direction is not None and directions is not None:
        raise ValueError("Specify only one of `direction` and `directions`.")
    if directions is None:
        directions = ["minimize" if direction is None else direction]
    if len(directions) == 0:
        raise ValueError("The number of objectives must be greater than 0.")
    out = []
    for d in directions:
        if isinstance(d, StudyDirection) and d != StudyDirection.NOT_SET:
            out.append(d)
        elif isinstance(d, str) and d.lower() in ("minimize", "maximize"):
            out.append(StudyDirection.MINIMIZE if d.lower() == "minimize" else StudyDirection.MAXIMIZE)
        else:
            raise ValueError(f"Please set either 'minimize' or 'maximize' to direction. You specified {d!r}.")
    return out


def create_study(*, storage: "str | BaseStorage" | None = None, sampler: Any = None, pruner: Any = None,
                 study_name: str | None = None, direction: str | StudyDirection | None = None,
                 load_if_exists: bool = False, directions: Sequence[str | StudyDirection] | None = None) -> Study:
    """A new study (or, with load_if_exists, the one of that name in storage)."""
    from ..exceptions import DuplicatedStudyError
    dirs = _directions_of(direction, directions)
    storage_obj = get_storage(storage)
    try:
        study_id = storage_obj.create_new_study(dirs, study_name)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise
        study_id = storage_obj.get_study_id_from_name(study_name)
    name = storage_obj.get_study_name_from_id(study_id)
    return Study(name, storage_obj, sampler=sampler, pruner=pruner)


def load_study(*, study_name: str | None, storage: "str | BaseStorage", sampler: Any = None, pruner: Any = None) -> Study:
    """The study of that name in storage (the only one, when study_name is None)."""
    storage_obj = get_storage(storage)
    if study_name is None:
        studies = storage_obj.get_all_studies()
        if len(studies) != 1:
            raise ValueError(f"Could not determine the study name since the storage {storage} does not contain "
                             f"exactly 1 study. Specify `study_name`.")
        study_name = studies[0].study_name
    storage_obj.get_study_id_from_name(study_name)  # KeyError naming it when there is none
    return Study(study_name, storage_obj, sampler=sampler, pruner=pruner)


def delete_study(*, study_name: str, storage: "str | BaseStorage") -> None:
    storage_obj = get_storage(storage)
    storage_obj.delete_study(storage_obj.get_study_id_from_name(study_name))


def copy_study(*, from_study_name: str, from_storage: "str | BaseStorage", to_storage: "str | BaseStorage",
               to_study_name: str | None = None) -> None:
    """Copy a study, its attributes and every trial, into another storage."""
    src = load_study(study_name=from_study_name, storage=from_storage)
    dst = create_study(study_name=to_study_name or from_study_name, storage=to_storage, directions=src.directions,
                       load_if_exists=False)
    for key, value in src._storage.get_study_system_attrs(src._study_id).items():
        dst.set_system_attr(key, value)
    for key, value in src.user_attrs.items():
        dst.set_user_attr(key, value)
    for trial in src.get_trials(deepcopy=False):
        dst._storage.create_new_trial(dst._study_id, template_trial=trial)


def get_all_study_summaries(storage: "str | BaseStorage", include_best_trial: bool = True) -> list[StudySummary]:
    storage_obj = get_storage(storage)
    summaries = []
    for frozen in storage_obj.get_all_studies():
        trials = storage_obj.get_all_trials(frozen._study_id, deepcopy=False)
        best = None
        if include_best_trial and len(frozen.directions) == 1:
            try:
                best = storage_obj.get_best_trial(frozen._study_id)
            except ValueError:
                best = None
        starts = [t.datetime_start for t in trials if t.datetime_start is not None]
        summaries.append(StudySummary(frozen.study_name, None, copy.deepcopy(best), frozen.user_attrs,
                                      frozen.system_attrs, len(trials), min(starts) if starts else None,
                                      frozen._study_id, directions=frozen.directions))
    return summaries


def get_all_study_names(storage: "str | BaseStorage") -> list[str]:
    return [s.study_name for s in get_storage(storage).get_all_studies()]
