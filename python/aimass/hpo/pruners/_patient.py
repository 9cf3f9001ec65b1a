"""PatientPruner (Optuna's): let the wrapped pruner act only once the trial stopped improving for
``patience`` reports (native check: aimass._core.hpo.patient_no_improvement)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import _core
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ._base import BasePruner

if TYPE_CHECKING:
    from ..study._study import Study


class PatientPruner(BasePruner):
    """Prune when the best of the last ``patience + 1`` reported values does not beat the best before
    them by more than ``min_delta`` and then ``wrapped_pruner`` agrees (None: prune right away —
    plain early stopping). Patience counts reports, not steps; NaN values are ignored."""

    def __init__(self, wrapped_pruner: BasePruner | None, patience: int, min_delta: float = 0.0) -> None:
        if patience < 0:
            raise ValueError(f"patience cannot be negative but got {patience}.")
        if min_delta < 0:
            raise ValueError(f"min_delta cannot be negative but got {min_delta}.")
        self._wrapped_pruner = wrapped_pruner
        self._patience = patience
        self._min_delta = float(min_delta)

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        if trial.last_step is None:
            return False
        values = np.asarray([trial.intermediate_values[s] for s in sorted(trial.intermediate_values)], dtype=float)
        if not _core.hpo.patient_no_improvement(values, self._patience, self._min_delta,
                                                study.direction == StudyDirection.MAXIMIZE):
            return False
        return True if self._wrapped_pruner is None else self._wrapped_pruner.prune(study, trial)
