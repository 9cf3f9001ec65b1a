from __future__ import annotations

from typing import TYPE_CHECKING, Container

from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ._study import Study


class MaxTrialsCallback:
    """Stop the study once it holds n_trials trials in states (COMPLETE by default), counted over
    every worker sharing its storage: the usual way to cap a distributed search."""

    def __init__(self, n_trials: int, states: Container[TrialState] | None = (TrialState.COMPLETE,)) -> None:
        self._n_trials = n_trials
        self._states = states

    def __call__(self, study: "Study", trial: FrozenTrial) -> None:
        if len(study.get_trials(deepcopy=False, states=self._states)) >= self._n_trials:
            study.stop()
