"""The search space of a study split into groups of parameters that trials suggest together
(Optuna's _GroupDecomposedSearchSpace): each finished trial's parameter set cuts every group into
the part inside it and the part outside, and adds its own new parameters as a group. Kept
incrementally: each call reads only the trials finished since the last."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..distributions import BaseDistribution
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ..study._study import Study


def add_distributions(groups: list[dict[str, BaseDistribution]],
                      distributions: dict[str, BaseDistribution]) -> list[dict[str, BaseDistribution]]:
    keys = set(distributions)
    out = []
    for group in groups:
        names = set(group)
        out.append({n: group[n] for n in names & keys})
        out.append({n: group[n] for n in names - keys})
        keys -= names
    out.append({n: distributions[n] for n in keys})
    return [g for g in out if g]


class GroupDecomposedSearchSpace:
    def __init__(self, include_pruned: bool = False) -> None:
        self._include_pruned = include_pruned
        self._groups: list[dict[str, BaseDistribution]] = []
        self._cursor = 0
        self._read_above: set[int] = set()
        self._study_id: int | None = None

    def calculate(self, study: "Study") -> list[dict[str, BaseDistribution]]:
        if self._study_id != study._study_id:
            self.__init__(self._include_pruned)
            self._study_id = study._study_id
        states = (TrialState.COMPLETE, TrialState.PRUNED) if self._include_pruned else (TrialState.COMPLETE,)
        trials = study._get_trials(deepcopy=False)
        new_cursor = None
        for t in trials[self._cursor:]:
            if not t.state.is_finished():
                if new_cursor is None:
                    new_cursor = t.number
                continue
            if t.number in self._read_above:
                continue
            self._read_above.add(t.number)
            if t.state in states:
                self._groups = add_distributions(self._groups, t.distributions)
        self._cursor = len(trials) if new_cursor is None else new_cursor
        self._read_above = {n for n in self._read_above if n >= self._cursor}
        return [dict(g) for g in self._groups]
