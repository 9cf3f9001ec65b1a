"""HyperbandPruner (Optuna's): several successive-halving brackets of different early-stopping
rates; each trial belongs to one bracket, picked by hashing the study name and the trial number
(crc32, as Optuna, so that a study gives the same brackets here and there), and competes only with
the trials of its bracket."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Container

from ... import _core
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BasePruner
from ._successive_halving import SuccessiveHalvingPruner

if TYPE_CHECKING:
    from ..study._study import Study


class HyperbandPruner(BasePruner):
    """Hyperband over ASHA: floor(log_eta(max_resource / min_resource)) + 1 brackets, bracket s an
    SuccessiveHalvingPruner(min_resource, reduction_factor, min_early_stopping_rate=s); bracket s
    gets ceil(n * eta^(n-1-s) / (n-s)) shares of the trials. ``max_resource="auto"``: the first
    COMPLETE trial's last step + 1."""

    def __init__(self, min_resource: int = 1, max_resource: str | int = "auto", reduction_factor: int = 3,
                 bootstrap_count: int = 0) -> None:
        if not isinstance(max_resource, int) and max_resource != "auto":
            raise ValueError(f"The 'max_resource' should be integer or 'auto'. But max_resource = {max_resource}")
        if bootstrap_count > 0 and max_resource == "auto":
            raise ValueError(f"bootstrap_count > 0 and max_resource == 'auto' are mutually incompatible, "
                             f"bootstrap_count is {bootstrap_count}")
        self._min_resource = min_resource
        self._max_resource = max_resource
        self._reduction_factor = reduction_factor
        self._bootstrap_count = bootstrap_count
        self._pruners: list[SuccessiveHalvingPruner] = []
        self._trial_allocation_budgets: list[int] = []
        self._total_trial_allocation_budget = 0
        self._n_brackets: int | None = None
        self._bracket_cache: dict[str, list[int]] = {}  # study name -> bracket of each trial number

    def prune(self, study: "Study", trial: FrozenTrial) -> bool:
        if not self._pruners:
            self._try_initialization(study)
            if not self._pruners:
                return False
        bracket_id = self._get_bracket_id(study, trial)
        return self._pruners[bracket_id].prune(self._create_bracket_study(study, bracket_id), trial)

    def _try_initialization(self, study: "Study") -> None:
        if self._max_resource == "auto":
            steps = [t.last_step for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                     if t.last_step is not None]
            if not steps:
                return
            self._max_resource = max(steps) + 1
        if self._n_brackets is None:
            self._n_brackets = _core.hpo.hyperband_n_brackets(self._min_resource, self._max_resource,
                                                              self._reduction_factor)
        self._trial_allocation_budgets = list(_core.hpo.hyperband_budgets(self._n_brackets, self._reduction_factor))
        self._total_trial_allocation_budget = sum(self._trial_allocation_budgets)
        self._bracket_cache = {}
        self._pruners = [SuccessiveHalvingPruner(min_resource=self._min_resource,
                                                 reduction_factor=self._reduction_factor,
                                                 min_early_stopping_rate=s, bootstrap_count=self._bootstrap_count)
                         for s in range(self._n_brackets)]

    def _get_bracket_id(self, study: "Study", trial: FrozenTrial) -> int:
        if not self._pruners:
            return 0
        return self._bracket_ids(study.study_name, trial.number + 1)[trial.number]

    def _bracket_ids(self, study_name: str, n_trials: int) -> list[int]:
        """The brackets of trials 0 .. n_trials - 1 (at least), hashed natively in batches and kept."""
        ids = self._bracket_cache.get(study_name)
        if ids is None or len(ids) < n_trials:
            n = max(n_trials, 2 * len(ids or ()), 64)
            ids = _core.hpo.hyperband_brackets(study_name, n, self._trial_allocation_budgets).tolist()
            self._bracket_cache[study_name] = ids
        return ids

    def _create_bracket_study(self, study: "Study", bracket_id: int) -> "_BracketStudy":
        return _BracketStudy(study, self, bracket_id)


class _BracketStudy:
    """The study as one Hyperband bracket sees it: ``get_trials`` (and ``trials``) keep only the
    trials of that bracket. As Optuna's, ``_get_trials`` (what samplers read) is not filtered, and
    any attribute besides the few a pruner or sampler needs is an AttributeError."""

    _VALID_ATTRS = ("get_trials", "_get_trials", "directions", "direction", "_directions", "_storage", "_study_id",
                    "pruner", "study_name", "_bracket_id", "sampler", "trials", "_is_multi_objective", "stop",
                    "_study", "_thread_local")

    def __init__(self, study: "Study", pruner: HyperbandPruner, bracket_id: int) -> None:
        object.__setattr__(self, "_study", study)
        object.__setattr__(self, "_bracket_id", bracket_id)
        object.__setattr__(self, "pruner", pruner)

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        get = object.__getattribute__
        study, pruner, bracket = get(self, "_study"), get(self, "pruner"), get(self, "_bracket_id")
        trials = study._get_trials(deepcopy=deepcopy, states=states)
        if not trials or not pruner._pruners:
            return trials if bracket == 0 else []
        ids = pruner._bracket_ids(study.study_name, max(t.number for t in trials) + 1)
        return [t for t in trials if ids[t.number] == bracket]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials(deepcopy=True)

    def stop(self) -> None:
        self._study.stop()  # stops the real study's loop

    def __getattribute__(self, name: str) -> Any:
        if name not in _BracketStudy._VALID_ATTRS:
            raise AttributeError(f"_BracketStudy does not have attribute of '{name}'")
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:  # the valid names not set here: the study's own
        if name not in _BracketStudy._VALID_ATTRS:
            raise AttributeError(f"_BracketStudy does not have attribute of '{name}'")
        return getattr(object.__getattribute__(self, "_study"), name)
