"""WilcoxonPruner (Optuna's): for objectives that average over instances (folds, problems, seeds)
reported as steps, prune a trial once a Wilcoxon signed-rank test says it is worse than the best
trial on the steps both reported (the p-value is native: aimass._core.hpo.wilcoxon_signed_rank_pvalue,
scipy's wilcoxon with zero_method="zsplit")."""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ... import _core
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ._base import BasePruner

if TYPE_CHECKING:
    from ..study._study import Study


class WilcoxonPruner(BasePruner):
    """Prune when the one-sided Wilcoxon test of (this trial - the best trial) over their common
    steps gives p < ``p_threshold`` — unless this trial's average is still no worse than the best's
    (kept, for safety, as Optuna). Needs at least max(2, ``n_startup_steps``) common steps; a trial
    or best trial with inf/NaN values is never pruned (a warning says so)."""

    def __init__(self, *, p_threshold: float = 0.1, n_startup_steps: int = 2) -> None:
        if n_startup_steps < 0:
            raise ValueError(f"n_startup_steps must be nonnegative but got {n_startup_steps}.")
        if not 0.0 <= p_threshold <= 1.0:
            raise ValueError(f"p_threshold must be between 0 and 1 but got {p_threshold}.")
        self._n_startup_steps = n_startup_steps
        self._p_threshold = p_threshold

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        if not trial.intermediate_values:
            return False
        values = trial.intermediate_values
        if not all(math.isfinite(v) for v in values.values()):
            warnings.warn(f"The intermediate values of the current trial (trial {trial.number}) contain "
                          f"infinity/NaNs. WilcoxonPruner will not prune this trial.", UserWarning, stacklevel=2)
            return False
        try:
            best = study.best_trial
        except ValueError:
            return False
        best_values = best.intermediate_values
        if not best_values:
            warnings.warn("The best trial has no intermediate values so WilcoxonPruner cannot prune trials. If you "
                          "have added the best trial with Study.add_trial, please consider setting "
                          "intermediate_values argument.", UserWarning, stacklevel=2)
            return False
        if not all(math.isfinite(v) for v in best_values.values()):
            warnings.warn(f"The intermediate values of the best trial (trial {best.number}) contain infinity/NaNs. "
                          f"WilcoxonPruner will not prune the current trial.", UserWarning, stacklevel=2)
            return False
        common = sorted(set(values) & set(best_values))
        if len(common) < len(values):
            warnings.warn("WilcoxonPruner finds steps existing in the current trial but does not exist in the best "
                          "trial. Those values are ignored.", UserWarning, stacklevel=2)
        diffs = np.asarray([values[s] - best_values[s] for s in common], dtype=float)
        if len(diffs) < max(2, self._n_startup_steps):
            return False
        mean, best_mean = sum(values.values()) / len(values), sum(best_values.values()) / len(best_values)
        if study.direction == StudyDirection.MAXIMIZE:  # worse = smaller: test median(diff) < 0
            p = _core.hpo.wilcoxon_signed_rank_pvalue(diffs, False)
            average_is_best = best_mean <= mean
        else:
            p = _core.hpo.wilcoxon_signed_rank_pvalue(diffs, True)
            average_is_best = best_mean >= mean
        return p < self._p_threshold and not average_is_best
