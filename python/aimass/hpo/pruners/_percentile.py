"""PercentilePruner and MedianPruner (Optuna's): prune a trial whose best intermediate value is worse
than the given percentile of the COMPLETE trials' values at the same step. The decision is native
(aimass._core.hpo.percentile_should_prune); the COMPLETE trials' values are gathered per step once,
as trials finish, instead of on every call."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ... import _core
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BasePruner

if TYPE_CHECKING:
    from ..study._study import Study

_hpo = _core.hpo


def _check_steps(n_warmup_steps: int, interval_steps: int) -> None:
    if n_warmup_steps < 0:
        raise ValueError(f"Number of warmup steps cannot be negative, but got n_warmup_steps={n_warmup_steps}.")
    if interval_steps < 1:
        raise ValueError(f"Pruning interval steps must be at least 1, but got interval_steps={interval_steps}.")


def _is_check_step(trial: FrozenTrial, step: int, n_warmup_steps: int, interval_steps: int) -> bool:
    """step is past the warmup and the first report in its interval (Optuna's _is_first_in_interval_step)."""
    if step < n_warmup_steps:
        return False
    steps = np.fromiter(trial.intermediate_values.keys(), dtype=np.int64, count=len(trial.intermediate_values))
    return _hpo.is_first_in_interval_step(step, steps, n_warmup_steps, interval_steps)


class _CompletedByStep:
    """The intermediate values of one study's COMPLETE trials, grouped by step: a COMPLETE trial's
    values never change, so each is read once, when it first shows up."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.by_step: dict[int, list[float]] = {}

    def update(self, completed: list[FrozenTrial]) -> None:
        if len(completed) < len(self.seen):  # another study behind the same key: start again
            self.seen.clear()
            self.by_step.clear()
        if len(completed) == len(self.seen):
            return
        for t in completed:
            if t._trial_id in self.seen:
                continue
            self.seen.add(t._trial_id)
            for step, value in t.intermediate_values.items():
                self.by_step.setdefault(step, []).append(value)


class PercentilePruner(BasePruner):
    """Prune when the trial's best intermediate value is in the bottom ``100 - percentile`` percent of
    the COMPLETE trials' values at its last step (``percentile=25``: keep the top quarter).

    Pruning waits for ``n_startup_trials`` COMPLETE trials, for ``n_warmup_steps`` steps, then checks
    once per ``interval_steps`` steps (at the first report in each interval), and needs at least
    ``n_min_trials`` values reported at that step. A trial whose values are all NaN is pruned."""

    def __init__(self, percentile: float, n_startup_trials: int = 5, n_warmup_steps: int = 0,
                 interval_steps: int = 1, *, n_min_trials: int = 1) -> None:
        if not 0.0 <= percentile <= 100:
            raise ValueError(f"Percentile must be between 0 and 100 inclusive, but got percentile={percentile}.")
        if n_startup_trials < 0:
            raise ValueError(f"Number of startup trials cannot be negative, but got n_startup_trials={n_startup_trials}.")
        _check_steps(n_warmup_steps, interval_steps)
        if n_min_trials < 1:
            raise ValueError(f"Number of trials for pruning must be at least 1, but got n_min_trials={n_min_trials}.")
        self._percentile = float(percentile)
        self._n_startup_trials = n_startup_trials
        self._n_warmup_steps = n_warmup_steps
        self._interval_steps = interval_steps
        self._n_min_trials = n_min_trials
        self._lock = threading.Lock()
        self._completed: dict[tuple, _CompletedByStep] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"], state["_completed"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._completed = {}

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) == 0 or len(completed) < self._n_startup_trials:
            return False
        step = trial.last_step
        if step is None or not _is_check_step(trial, step, self._n_warmup_steps, self._interval_steps):
            return False
        maximize = study.direction == StudyDirection.MAXIMIZE
        mine = np.fromiter(trial.intermediate_values.values(), dtype=float, count=len(trial.intermediate_values))
        best = _hpo.best_intermediate(mine, maximize)
        key = (id(study._storage), study._study_id, getattr(study, "_bracket_id", None))
        with self._lock:
            cache = self._completed.setdefault(key, _CompletedByStep())
            cache.update(completed)
            others = np.asarray(cache.by_step.get(step, ()), dtype=float)
        return _hpo.percentile_should_prune(best, others, self._percentile, self._n_min_trials, maximize)


class MedianPruner(PercentilePruner):
    """The median stopping rule: prune when the trial's best intermediate value is worse than the
    median of the COMPLETE trials' values at the same step (PercentilePruner(50.0, ...))."""

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, *,
                 n_min_trials: int = 1) -> None:
        super().__init__(50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials=n_min_trials)
