"""Heartbeats: while an objective runs, a thread records that its worker is alive; a RUNNING trial
whose worker stopped beating (killed, its machine lost) for the storage's grace period is marked
FAIL by the next worker to start a trial, and the storage's failed_trial_callback (for example
RetryFailedTrialCallback) may queue it again."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..trial._state import TrialState
from ._base import BaseHeartbeat

if TYPE_CHECKING:
    from ..study._study import Study


def heartbeat_for(storage: object) -> BaseHeartbeat | None:
    """The storage when it records heartbeats (a heartbeat interval was set), else None."""
    if isinstance(storage, BaseHeartbeat) and storage.get_heartbeat_interval() is not None:
        return storage
    return None


class HeartbeatThread:
    def __init__(self, storage: BaseHeartbeat, trial_id: int) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"aimass-hpo-heartbeat-{trial_id}", daemon=True)

    def start(self) -> None:
        self._storage.record_heartbeat(self._trial_id)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = self._storage.get_heartbeat_interval()
        while not self._stop.wait(interval):
            self._storage.record_heartbeat(self._trial_id)


def fail_stale_trials(study: "Study") -> None:
    """Mark FAIL the study's RUNNING trials whose heartbeat is older than the grace period; each one
    this worker marks goes through the storage's failed_trial_callback once."""
    storage = heartbeat_for(study._storage)
    if storage is None:
        return
    failed = []
    for trial_id in storage._get_stale_trial_ids(study._study_id):
        try:
            if study._storage.set_trial_state_values(trial_id, TrialState.FAIL):
                failed.append(trial_id)
        except Exception:  # another worker finished or failed it first
            continue
    callback = storage.get_failed_trial_callback()
    if callback is not None:
        for trial_id in failed:
            callback(study, study._storage.get_trial(trial_id))
