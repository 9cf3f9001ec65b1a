"""Pareto fronts of trials (native ranks: csrc/hpo/pareto.h)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..._core import hpo as _native
from ..trial._frozen import FrozenTrial
from ._direction import StudyDirection


def minimised_values(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]) -> np.ndarray:
    """[n, m] objective values with maximised objectives negated, so all are minimised."""
    sign = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in directions])
    values = np.array([t.values for t in trials], dtype=np.float64).reshape(len(trials), len(directions))
    return values * sign


def pareto_front_trials(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]) -> list[FrozenTrial]:
    if not trials:
        return []
    front = _native.pareto_front(minimised_values(trials, directions))
    return [trials[i] for i in front]
