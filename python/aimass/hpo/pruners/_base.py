"""The pruner interface (Optuna's ``BasePruner``): ``prune(study, trial)`` says whether a RUNNING
trial, given its intermediate values so far, should stop."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from ..study._study import Study


class BasePruner:
    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        raise NotImplementedError


class NopPruner(BasePruner):
    """Never prunes."""

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        return False
