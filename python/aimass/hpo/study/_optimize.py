"""Study.optimize's loop: ask, run the objective, tell; on threads for n_jobs > 1; with the
storage's heartbeat when it has one."""
from __future__ import annotations

import concurrent.futures
import gc
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..exceptions import TrialPruned
from ..logging import get_logger
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ..trial._frozen import FrozenTrial
    from ._study import Study

_logger = get_logger(__name__)


def optimize(study: "Study", func: Callable, n_trials: int | None, timeout: float | None, n_jobs: int,
             catch: tuple[type[Exception], ...], callbacks: Sequence[Callable] | None, gc_after_trial: bool,
             show_progress_bar: bool) -> None:
    if not isinstance(catch, tuple):
        catch = tuple(catch) if isinstance(catch, (list, set)) else (catch,)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs}.")
    bar = _progress_bar(show_progress_bar, n_trials, timeout)
    study._stop_flag = False
    start = time.monotonic()
    try:
        if n_jobs == 1:
            _loop(study, func, n_trials, timeout, start, catch, callbacks, gc_after_trial, bar, None)
        else:
            counter = _Counter(n_trials)
            with concurrent.futures.ThreadPoolExecutor(max_workers=n_jobs) as pool:
                futures = [pool.submit(_loop, study, func, None, timeout, start, catch, callbacks, gc_after_trial, bar,
                                       counter) for _ in range(n_jobs)]
                for f in concurrent.futures.as_completed(futures):
                    f.result()
    finally:
        if bar is not None:
            bar.close()
        study._storage.remove_session()


class _Counter:
    """Hands out trial slots to the worker threads: n_trials in all (None: no limit)."""

    def __init__(self, n_trials: int | None) -> None:
        import threading
        self._left = n_trials
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self._left is None:
            return True
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


def _loop(study: "Study", func: Callable, n_trials: int | None, timeout: float | None, start: float,
          catch: tuple, callbacks: Sequence[Callable] | None, gc_after_trial: bool, bar: Any, counter: Any) -> None:
    done = 0
    while not study._stop_flag:
        if n_trials is not None and done >= n_trials:
            break
        if counter is not None and not counter.take():
            break
        if timeout is not None and time.monotonic() - start >= timeout:
            break
        frozen = run_trial(study, func, catch)
        done += 1
        if gc_after_trial:
            gc.collect()
        if callbacks is not None:
            for callback in callbacks:
                callback(study, frozen)
        if bar is not None:
            bar.update(frozen, study, time.monotonic() - start)


def run_trial(study: "Study", func: Callable, catch: tuple) -> "FrozenTrial":
    from ..storages._heartbeat import heartbeat_for, fail_stale_trials

    if heartbeat_for(study._storage) is not None:
        fail_stale_trials(study)
    trial = study.ask()
    error: BaseException | None = None
    state: TrialState | None = None
    value_or_values: Any = None
    with _heartbeat(study, trial._trial_id):
        try:
            value_or_values = func(trial)
        except TrialPruned as e:
            state, error = TrialState.PRUNED, e
        except (Exception, KeyboardInterrupt) as e:
            state, error = TrialState.FAIL, e
        frozen, problem = study._tell(trial, None if state is not None else value_or_values, state, warn=False)
    if frozen.state == TrialState.COMPLETE:
        _log_complete(study, frozen)
    elif frozen.state == TrialState.PRUNED:
        _logger.info(f"Trial {frozen.number} pruned. {error if str(error) else ''}".rstrip())
    elif frozen.state == TrialState.FAIL:
        if error is not None:
            _logger.warning(f"Trial {frozen.number} failed with parameters: {frozen.params} because of the "
                            f"following error: {error!r}.")
        else:
            _logger.warning(f"Trial {frozen.number} failed with parameters: {frozen.params} because of the "
                            f"following error: {problem}")
            _logger.warning(f"Trial {frozen.number} failed with value {value_or_values!r}.")
    if state == TrialState.FAIL and error is not None and not isinstance(error, catch):
        raise error
    return frozen


class _heartbeat:
    """Beats for the trial on a background thread while the objective runs (storages with heartbeat)."""

    def __init__(self, study: "Study", trial_id: int) -> None:
        from ..storages._heartbeat import heartbeat_for
        self._beat = heartbeat_for(study._storage)
        self._trial_id = trial_id
        self._thread = None

    def __enter__(self) -> None:
        if self._beat is not None:
            from ..storages._heartbeat import HeartbeatThread
            self._thread = HeartbeatThread(self._beat, self._trial_id)
            self._thread.start()

    def __exit__(self, *exc: Any) -> None:
        if self._thread is not None:
            self._thread.stop()


def _log_complete(study: "Study", frozen: "FrozenTrial") -> None:
    if not _logger.isEnabledFor(20):
        return
    if len(frozen.values) == 1:
        try:
            best = study.best_trial
            best_text = f" Best is trial {best.number} with value: {best.value}."
        except ValueError:
            best_text = ""
        _logger.info(f"Trial {frozen.number} finished with value: {frozen.values[0]} and parameters: "
                     f"{frozen.params}.{best_text}")
    else:
        _logger.info(f"Trial {frozen.number} finished with values: {frozen.values} and parameters: {frozen.params}.")


class _ProgressBar:
    def __init__(self, n_trials: int | None, timeout: float | None) -> None:
        from tqdm.auto import tqdm
        self._timeout_only = n_trials is None
        self._bar = tqdm(total=n_trials if n_trials is not None else timeout)
        self._last = 0.0

    def update(self, frozen: "FrozenTrial", study: "Study", elapsed: float) -> None:
        if self._timeout_only:
            self._bar.update(elapsed - self._last)
            self._last = elapsed
        else:
            self._bar.update(1)
        try:
            best = study.best_trial
            self._bar.set_description(f"Best trial: {best.number}. Best value: {best.value:.6g}")
        except (ValueError, RuntimeError):
            pass

    def close(self) -> None:
        self._bar.close()


def _progress_bar(show: bool, n_trials: int | None, timeout: float | None) -> _ProgressBar | None:
    if not show:
        return None
    if n_trials is None and timeout is None:
        import warnings
        warnings.warn("The progress bar is shown only with n_trials or timeout.", UserWarning, stacklevel=4)
        return None
    return _ProgressBar(n_trials, timeout)


