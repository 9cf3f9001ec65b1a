from __future__ import annotations

import enum


class TrialState(enum.IntEnum):
    """A trial's state, numbered as Optuna's (its RDB schema stores the names)."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"TrialState.{self.name}"

    def is_finished(self) -> bool:
        return self not in (TrialState.RUNNING, TrialState.WAITING)
