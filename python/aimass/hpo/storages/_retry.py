"""Re-queue trials whose worker died: the storage's failed_trial_callback (heartbeat-stale trials)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ..study._study import Study


class RetryFailedTrialCallback:
    """Queue a copy of a heartbeat-stale (failed) trial as WAITING, at most max_retry times per
    original trial (None: always). The copy keeps the parameters, distributions and attributes, and
    the intermediate values when inherit_intermediate_values; its system attributes
    ``failed_trial`` (the first trial of the series) and ``retry_history`` (every earlier trial of
    the series, oldest first) are Optuna's."""

    def __init__(self, max_retry: int | None = None, inherit_intermediate_values: bool = False) -> None:
        if max_retry is not None and (not isinstance(max_retry, int) or max_retry < 0):
            raise ValueError(f"max_retry must be None or a non-negative integer, got {max_retry!r}")
        self._max_retry = max_retry
        self._inherit_intermediate_values = inherit_intermediate_values

    def __call__(self, study: "Study", trial: FrozenTrial) -> None:
        system_attrs: dict[str, Any] = {"failed_trial": trial.number, "retry_history": [], **trial.system_attrs}
        system_attrs["retry_history"] = [*system_attrs["retry_history"], trial.number]
        if self._max_retry is not None and len(system_attrs["retry_history"]) > self._max_retry:
            return
        from ..trial import create_trial
        study.add_trial(create_trial(state=TrialState.WAITING, params=dict(trial.params),
                                     distributions=dict(trial.distributions), user_attrs=dict(trial.user_attrs),
                                     system_attrs=system_attrs,
                                     intermediate_values=dict(trial.intermediate_values)
                                     if self._inherit_intermediate_values else None))

    @staticmethod
    def retried_trial_number(trial: FrozenTrial) -> int | None:
        """The number of the first trial of the retry series trial belongs to; None if it is not a retry."""
        return trial.system_attrs.get("failed_trial", None)

    @staticmethod
    def retry_history(trial: FrozenTrial) -> list[int]:
        """The numbers of the trials trial retries, the original first; [] if it is not a retry."""
        return trial.system_attrs.get("retry_history", [])


RetryHeartbeatStaleTrialCallback = RetryFailedTrialCallback  # Optuna 5's name
