"""The storage interface every am.hpo storage implements (Optuna's ``BaseStorage``, same names).

A storage holds studies and their trials; many workers (threads, processes, machines) may share
one, so each method is one atomic step. Parameter values are kept in their internal form (a float:
distributions.py). ``set_trial_state_values(RUNNING)`` on a WAITING trial is how a worker takes an
enqueued trial: it returns False when another worker took it first, so each is run exactly once.
"""
from __future__ import annotations

from typing import Any, Container, Sequence

from ..distributions import BaseDistribution
from ..study._direction import StudyDirection
from ..study._frozen import FrozenStudy
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

DEFAULT_STUDY_NAME_PREFIX = "no-name-"


class BaseStorage:
    # ---- studies
    def create_new_study(self, directions: Sequence[StudyDirection], study_name: str | None = None) -> int:
        """A new study's id; DuplicatedStudyError when the name is taken."""
        raise NotImplementedError

    def delete_study(self, study_id: int) -> None:
        raise NotImplementedError

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        raise NotImplementedError

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        raise NotImplementedError

    def get_study_id_from_name(self, study_name: str) -> int:
        """KeyError naming the study when there is none of that name."""
        raise NotImplementedError

    def get_study_name_from_id(self, study_id: int) -> str:
        raise NotImplementedError

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        raise NotImplementedError

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def get_all_studies(self) -> list[FrozenStudy]:
        raise NotImplementedError

    # ---- trials
    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        """A new trial's id: RUNNING and started now, or a copy of template_trial (its state, values,
        params, attributes and times); its number is the study's next."""
        raise NotImplementedError

    def set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                        distribution: BaseDistribution) -> None:
        """ValueError when the study already has param_name with an incompatible distribution;
        UpdateFinishedTrialError for a finished trial."""
        raise NotImplementedError

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        raise NotImplementedError

    def get_trial_number_from_id(self, trial_id: int) -> int:
        return self.get_trial(trial_id).number

    def get_trial_param(self, trial_id: int, param_name: str) -> float:
        trial = self.get_trial(trial_id)
        return trial.distributions[param_name].to_internal_repr(trial.params[param_name])

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        """Set the state (and values); False when state is RUNNING and the trial is no longer WAITING."""
        raise NotImplementedError

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        raise NotImplementedError

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        raise NotImplementedError

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        raise NotImplementedError

    def get_trial(self, trial_id: int) -> FrozenTrial:
        raise NotImplementedError

    def get_all_trials(self, study_id: int, deepcopy: bool = True,
                       states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        """The study's trials in number order (only those in states, when given)."""
        raise NotImplementedError

    def get_waiting_trial_ids(self, study_id: int) -> list[int]:
        """Ids of the study's WAITING (enqueued) trials, oldest first: what ask takes next."""
        return [t._trial_id for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.WAITING,))]

    def get_n_trials(self, study_id: int, state: tuple[TrialState, ...] | TrialState | None = None) -> int:
        if isinstance(state, TrialState):
            state = (state,)
        return len(self.get_all_trials(study_id, deepcopy=False, states=state))

    def get_best_trial(self, study_id: int) -> FrozenTrial:
        """The best COMPLETE trial of a single-objective study; ValueError when there is none."""
        directions = self.get_study_directions(study_id)
        if len(directions) > 1:
            raise RuntimeError("Best trial can be obtained only for single-objective optimization.")
        complete = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,))
        if not complete:
            raise ValueError("No trials are completed yet.")
        pick = max if directions[0] == StudyDirection.MAXIMIZE else min
        return pick(complete, key=lambda t: t.values[0])

    def check_trial_is_updatable(self, trial_id: int, trial_state: TrialState) -> None:
        if trial_state.is_finished():
            trial = self.get_trial(trial_id)
            from ..exceptions import UpdateFinishedTrialError
            raise UpdateFinishedTrialError(f"Trial#{trial.number} has already finished and can not be updated.")

    def remove_session(self) -> None:
        pass


class BaseHeartbeat:
    """Storages whose workers send heartbeats (RDB, journal): a RUNNING trial whose worker has not
    beaten for grace_period seconds is marked FAIL by the next worker that looks (fail_stale_trials)."""

    def record_heartbeat(self, trial_id: int) -> None:
        raise NotImplementedError

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        raise NotImplementedError

    def get_heartbeat_interval(self) -> int | None:
        raise NotImplementedError

    def get_failed_trial_callback(self) -> Any:
        raise NotImplementedError
