"""ThresholdPruner (Optuna's): prune when the latest intermediate value leaves [lower, upper] or is NaN."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..trial._frozen import FrozenTrial
from ._base import BasePruner
from ._percentile import _check_steps, _is_check_step

if TYPE_CHECKING:
    from ..study._study import Study


def _check_value(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"The `value` argument is of type '{type(value)}' but supposed to be a float.") from None


class ThresholdPruner(BasePruner):
    """Prune a trial whose latest value is below ``lower`` or above ``upper`` (either may be None),
    checked after ``n_warmup_steps`` once per ``interval_steps``."""

    def __init__(self, lower: float | None = None, upper: float | None = None, n_warmup_steps: int = 0,
                 interval_steps: int = 1) -> None:
        if lower is None and upper is None:
            raise TypeError("Either lower or upper must be specified.")
        lower = -math.inf if lower is None else _check_value(lower)
        upper = math.inf if upper is None else _check_value(upper)
        if lower > upper:
            raise ValueError("lower should be smaller than upper.")
        _check_steps(n_warmup_steps, interval_steps)
        self._lower, self._upper = lower, upper
        self._n_warmup_steps, self._interval_steps = n_warmup_steps, interval_steps

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or not _is_check_step(trial, step, self._n_warmup_steps, self._interval_steps):
            return False
        latest = trial.intermediate_values[step]
        return math.isnan(latest) or latest < self._lower or latest > self._upper
