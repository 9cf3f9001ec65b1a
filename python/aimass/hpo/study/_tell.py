"""Study.tell's checks, as Optuna's: what state a trial ends in for the values it was told."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ._study import Study


def values_problem(study: "Study", values: Sequence[Any]) -> str | None:
    """Why values cannot complete a trial (not floats, NaN, not one per objective), or None."""
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return f"The value {v!r} could not be cast to float."
        if math.isnan(f):
            return f"The value {f} is not acceptable."
    if len(values) != len(study.directions):
        return (f"The number of the values {len(values)} did not match the number of the objectives "
                f"{len(study.directions)}.")
    return None


def tell(study: "Study", trial: Any, value_or_values: Any, state: TrialState | None, skip_if_finished: bool,
         warn: bool) -> tuple[FrozenTrial, str | None]:
    """Finish trial; returns its record and, when the values could not complete it, why (warned
    about here unless warn is False)."""
    import warnings

    frozen = _frozen_trial_of(study, trial)
    if frozen.state.is_finished() and skip_if_finished:
        return frozen, None
    if frozen.state != TrialState.RUNNING:
        raise ValueError(f"Cannot tell a {frozen.state.name} trial.")
    if value_or_values is None:
        values = None
    elif isinstance(value_or_values, Sequence) and not isinstance(value_or_values, str):
        values = list(value_or_values)
    else:
        values = [value_or_values]
    if state == TrialState.COMPLETE and values is None:
        raise ValueError("No values were told. Values are required when state is TrialState.COMPLETE.")
    if state in (TrialState.PRUNED, TrialState.FAIL) and values is not None:
        raise ValueError("Values were told. Values cannot be specified when state is TrialState.PRUNED or "
                         "TrialState.FAIL.")
    if state in (TrialState.RUNNING, TrialState.WAITING):
        raise ValueError(f"Cannot tell with state {state}.")
    problem = None
    if state == TrialState.COMPLETE:
        problem = values_problem(study, values)
        if problem is not None:
            raise ValueError(problem)
    elif state == TrialState.PRUNED:
        last = frozen.last_step
        if last is not None and values_problem(study, [frozen.intermediate_values[last]]) is None:
            values = [frozen.intermediate_values[last]]
    elif state is None:
        problem = "The value None could not be cast to float." if values is None else values_problem(study, values)
        if problem is None:
            state = TrialState.COMPLETE
        else:
            state, values = TrialState.FAIL, None
            if warn:
                warnings.warn(problem, UserWarning, stacklevel=3)
    if values is not None:
        values = [float(v) for v in values]
    try:
        from ..pruners import _filter_study
        study.sampler.after_trial(_filter_study(study, frozen), frozen, state, values)
    finally:
        study._storage.set_trial_state_values(frozen._trial_id, state, values)
    return study._storage.get_trial(frozen._trial_id), problem


def _frozen_trial_of(study: "Study", trial: Any) -> FrozenTrial:
    from ..trial._trial import Trial

    if isinstance(trial, Trial):
        return study._storage.get_trial(trial._trial_id)
    if isinstance(trial, int) and not isinstance(trial, bool):
        try:
            trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, trial)
        except KeyError as e:
            raise ValueError(f"Cannot tell for trial with number {trial} since it has not been created.") from e
        return study._storage.get_trial(trial_id)
    raise TypeError("Trial must be a trial object or trial number.")
