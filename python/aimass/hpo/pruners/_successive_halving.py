"""SuccessiveHalvingPruner (Optuna's asynchronous successive halving, ASHA).

A trial climbs rungs: at step min_resource * reduction_factor^(min_early_stopping_rate + rung) it
records its value as the system attr "completed_rung_<rung>" and goes on only when that value is in
the top 1 / reduction_factor of every value recorded at that rung so far (native:
aimass._core.hpo.asha_promotable)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ... import _core
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BasePruner

if TYPE_CHECKING:
    from ..study._study import Study


def _rung_key(rung: int) -> str:
    return f"completed_rung_{rung}"


def _current_rung(trial: FrozenTrial) -> int:
    rung = 0
    while _rung_key(rung) in trial.system_attrs:
        rung += 1
    return rung


def _estimate_min_resource(trials: list[FrozenTrial]) -> int | None:
    """1 % of the longest COMPLETE trial's last step (at least 1); None before any completes."""
    steps = [t.last_step for t in trials if t.state == TrialState.COMPLETE and t.last_step is not None]
    return max(max(steps) // 100, 1) if steps else None


class SuccessiveHalvingPruner(BasePruner):
    """ASHA: ``min_resource`` ("auto": 1 % of the first COMPLETE trial's steps) is the first rung's
    step, each next rung ``reduction_factor`` times further, the first ``min_early_stopping_rate``
    rungs skipped. A trial is pruned at a rung unless it is in the top 1 / reduction_factor there, or
    while no more than ``bootstrap_count`` trials have reached it."""

    def __init__(self, min_resource: str | int = "auto", reduction_factor: int = 4, min_early_stopping_rate: int = 0,
                 bootstrap_count: int = 0) -> None:
        if isinstance(min_resource, str) and min_resource != "auto":
            raise ValueError(f"The value of `min_resource` is {min_resource}, but must be either `min_resource` >= 1 "
                             f"or 'auto'")
        if isinstance(min_resource, int) and min_resource < 1:
            raise ValueError(f"The value of `min_resource` is {min_resource}, but must be either `min_resource >= 1` "
                             f"or 'auto'")
        if reduction_factor < 2:
            raise ValueError(f"The value of `reduction_factor` is {reduction_factor}, but must be "
                             f"`reduction_factor >= 2`")
        if min_early_stopping_rate < 0:
            raise ValueError(f"The value of `min_early_stopping_rate` is {min_early_stopping_rate}, but must be "
                             f"`min_early_stopping_rate >= 0`")
        if bootstrap_count < 0:
            raise ValueError(f"The value of `bootstrap_count` is {bootstrap_count}, but must be `bootstrap_count >= 0`")
        if bootstrap_count > 0 and min_resource == "auto":
            raise ValueError(f"bootstrap_count > 0 and min_resource == 'auto' are mutually incompatible, "
                             f"bootstrap_count is {bootstrap_count}")
        self._min_resource: int | None = min_resource if isinstance(min_resource, int) else None
        self._reduction_factor = reduction_factor
        self._min_early_stopping_rate = min_early_stopping_rate
        self._bootstrap_count = bootstrap_count

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None:
            return False
        rung = _current_rung(trial)
        value = trial.intermediate_values[step]
        trials: list[FrozenTrial] | None = None
        while True:
            if self._min_resource is None:
                trials = study.get_trials(deepcopy=False) if trials is None else trials
                self._min_resource = _estimate_min_resource(trials)
                if self._min_resource is None:
                    return False
            if step < _core.hpo.rung_promotion_step(self._min_resource, self._reduction_factor,
                                                    self._min_early_stopping_rate, rung):
                return False
            if math.isnan(value):
                return True
            trials = study.get_trials(deepcopy=False) if trials is None else trials
            key = _rung_key(rung)
            study._storage.set_trial_system_attr(trial._trial_id, key, value)
            trial.system_attrs[key] = value  # the caller's record climbs too (the next call starts here)
            # This trial's own value once, whether or not the storage hands back the updated record.
            competing = [t.system_attrs[key] for t in trials if t._trial_id != trial._trial_id and key in t.system_attrs]
            competing.append(value)
            if len(competing) <= self._bootstrap_count:
                return True
            if not _core.hpo.asha_promotable(value, np.asarray(competing, dtype=float), self._reduction_factor,
                                             study.direction == StudyDirection.MAXIMIZE):
                return True
            rung += 1
