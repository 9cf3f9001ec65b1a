"""The joint search space of a study: the parameters (with the same distribution) that every
finished trial had. Kept incrementally: each call reads only the trials finished since the last."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..distributions import BaseDistribution
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ..study._study import Study


class IntersectionSearchSpace:
    def __init__(self, include_pruned: bool = False) -> None:
        self._include_pruned = include_pruned
        self._space: dict[str, BaseDistribution] | None = None
        self._cursor = 0              # every trial numbered below it has been read
        self._read_above: set[int] = set()  # finished trials at or above the cursor already read
        self._study_id: int | None = None

    def calculate(self, study: "Study") -> dict[str, BaseDistribution]:
        if self._study_id != study._study_id:  # a sampler reused on another study starts over
            self.__init__(self._include_pruned)
            self._study_id = study._study_id
        states = (TrialState.COMPLETE, TrialState.PRUNED) if self._include_pruned else (TrialState.COMPLETE,)
        trials = study._get_trials(deepcopy=False)
        new_cursor = None
        for trial in trials[self._cursor:]:
            if not trial.state.is_finished():
                if new_cursor is None:
                    new_cursor = trial.number
                continue
            if trial.number in self._read_above:
                continue
            self._read_above.add(trial.number)
            if trial.state in states:
                self._intersect(trial)
        self._cursor = len(trials) if new_cursor is None else new_cursor
        self._read_above = {n for n in self._read_above if n >= self._cursor}
        return dict(sorted((self._space or {}).items()))

    def _intersect(self, trial: FrozenTrial) -> None:
        if self._space is None:
            self._space = dict(trial.distributions)
            return
        self._space = {name: dist for name, dist in self._space.items() if trial.distributions.get(name) == dist}


def intersection_search_space(trials: list[FrozenTrial], include_pruned: bool = False) -> dict[str, BaseDistribution]:
    """The same intersection over a list of trials, computed at once."""
    states = (TrialState.COMPLETE, TrialState.PRUNED) if include_pruned else (TrialState.COMPLETE,)
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if t.state not in states:
            continue
        space = dict(t.distributions) if space is None else {
            n: d for n, d in space.items() if t.distributions.get(n) == d}
    return dict(sorted((space or {}).items()))
