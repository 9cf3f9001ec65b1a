from __future__ import annotations

import datetime
import math
import warnings
from typing import TYPE_CHECKING, Any

from .. import distributions as _dist
from ..distributions import BaseDistribution
from ._frozen import CONSTRAINTS_KEY, FrozenTrial
from ._suggest import SuggestMixin

if TYPE_CHECKING:
    from ..study._study import Study


class Trial(SuggestMixin):
    """One evaluation of the objective: hands out parameters (``suggest_*``), takes intermediate
    values (``report``) and asks the pruner whether to stop (``should_prune``).

    The trial keeps its own copy of its record, so a suggestion costs one storage write and no read.
    """

    def __init__(self, study: "Study", trial_id: int) -> None:
        self.study = study
        self._trial_id = trial_id
        self.storage = study._storage
        self._cached_frozen_trial = self.storage.get_trial(trial_id)._copy()
        self._fixed_params: dict[str, Any] = self._cached_frozen_trial.system_attrs.get("fixed_params", {})
        self._relative_search_space: dict[str, BaseDistribution] | None = None
        self._relative_params: dict[str, Any] | None = None

    # ---- relative (joint) sampling, done on the first suggestion that needs it
    @property
    def relative_params(self) -> dict[str, Any]:
        if self._relative_params is None:
            sampler = self.study.sampler
            frozen = self._cached_frozen_trial
            study = _filter_study(self.study, frozen)  # a Hyperband bracket's trials, as Optuna
            self._relative_search_space = sampler.infer_relative_search_space(study, frozen)
            self._relative_params = sampler.sample_relative(study, frozen, self._relative_search_space)
        return self._relative_params

    def _is_relative_param(self, name: str, distribution: BaseDistribution) -> bool:
        if name not in self.relative_params:
            return False
        space = self._relative_search_space or {}
        if name not in space:
            raise ValueError(f"The parameter '{name}' was sampled by `sample_relative` method but it is not contained "
                             f"in the relative search space.")
        _dist.check_distribution_compatibility(space[name], distribution)
        return distribution._contains(distribution.to_internal_repr(self.relative_params[name]))

    def _suggest(self, name: str, distribution: BaseDistribution) -> Any:
        trial = self._cached_frozen_trial
        if name in trial.distributions:  # suggested before in this trial: the same value
            _dist.check_distribution_compatibility(trial.distributions[name], distribution)
            if trial.distributions[name] != distribution:
                warnings.warn(f'Inconsistent parameter values for distribution with name "{name}"! This might be a '
                              f"configuration mistake. aimass.hpo allows to call the same distribution with the same "
                              f"name more than once in a trial. When the parameter values are inconsistent only the "
                              f"values of the first call are used. Using these values: "
                              f"{trial.distributions[name]._asdict()}", RuntimeWarning, stacklevel=3)
            return trial.params[name]
        if name in self._fixed_params and distribution._contains(distribution.to_internal_repr(self._fixed_params[name])):
            value = self._fixed_params[name]
        elif name in self._fixed_params:
            warnings.warn(f"Fixed parameter '{name}' with value {self._fixed_params[name]} is out of range for "
                          f"distribution {distribution}.", UserWarning, stacklevel=3)
            value = self._fixed_params[name]
        elif distribution.single():
            value = _dist._get_single_value(distribution)
        elif self._is_relative_param(name, distribution):
            value = self.relative_params[name]
        else:
            value = self.study.sampler.sample_independent(_filter_study(self.study, trial), trial, name, distribution)
        internal = distribution.to_internal_repr(value)  # ValueError for NaN and the like
        self.storage.set_trial_param(self._trial_id, name, internal, distribution)
        trial.distributions[name] = distribution
        trial.params[name] = distribution.to_external_repr(internal)
        return trial.params[name]

    # ---- pruning
    def report(self, value: float, step: int) -> None:
        """Record the objective's value at step (an epoch, an iteration) for the pruner."""
        if len(self.study.directions) > 1:
            raise NotImplementedError("Trial.report is not supported for multi-objective optimization.")
        try:
            value = float(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"The `value` argument is of type '{type(value).__name__}' but supposed to be a float.") from e
        try:
            step = int(step)
        except (TypeError, ValueError) as e:
            raise TypeError(f"The `step` argument is of type '{type(step).__name__}' but supposed to be an int.") from e
        if step < 0:
            raise ValueError(f"The `step` argument is {step} but cannot be negative.")
        if step in self._cached_frozen_trial.intermediate_values:
            warnings.warn(f"The reported value is ignored because this `step` {step} is already reported.",
                          UserWarning, stacklevel=2)
            return
        self.storage.set_trial_intermediate_value(self._trial_id, step, value)
        self._cached_frozen_trial.intermediate_values[step] = value

    def should_prune(self) -> bool:
        """Whether the study's pruner would stop this trial now (raise TrialPruned when True)."""
        if len(self.study.directions) > 1:
            raise NotImplementedError("Trial.should_prune is not supported for multi-objective optimization.")
        return bool(self.study.pruner.prune(self.study, self._cached_frozen_trial))

    # ---- attributes
    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_trial_user_attr(self._trial_id, key, value)
        self._cached_frozen_trial.user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self.storage.set_trial_system_attr(self._trial_id, key, value)
        self._cached_frozen_trial.system_attrs[key] = value

    def set_constraint(self, key: Any, value: float | None = None) -> None:
        """Set constraint `key` to value (Optuna 5): the trial is feasible when every constraint is
        <= 0, read by best_trial(s) and by the samplers that handle constraints. A list alone
        (``set_constraint([c0, c1])``) sets them all at once, as a constraints_func returns them."""
        if value is None and isinstance(key, (list, tuple)):
            values = [float(c) for c in key]
            if any(math.isnan(c) for c in values):
                raise ValueError(f"Attempted to set constraints {values}, but NaN is not allowed.")
            self.set_system_attr(CONSTRAINTS_KEY, values)
            return
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise TypeError(f"The `value` argument is of type '{type(value)}' but supposed to be a float.") from None
        if math.isnan(value):
            raise ValueError(f"Attempted to set a constraint for {key!r}, but NaN is not allowed.")
        attr = f"{CONSTRAINTS_KEY}:{key}"
        if attr in self._cached_frozen_trial.system_attrs:
            warnings.warn(f"The constraint value is ignored because this constraint `key={key!r}` is already set.",
                          UserWarning, stacklevel=2)
            return
        self.set_system_attr(attr, value)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._cached_frozen_trial.params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return dict(self._cached_frozen_trial.distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._cached_frozen_trial.user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._cached_frozen_trial.system_attrs)

    @property
    def datetime_start(self) -> datetime.datetime | None:
        return self._cached_frozen_trial.datetime_start

    @property
    def number(self) -> int:
        return self._cached_frozen_trial.number

    def _get_latest_trial(self) -> FrozenTrial:
        return self._cached_frozen_trial

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._cached_frozen_trial.params})"


class FixedTrial(SuggestMixin):
    """A trial whose parameters are given: run an objective once with chosen values (no study)."""

    def __init__(self, params: dict[str, Any], number: int = 0) -> None:
        self._params = params
        self._suggested_params: dict[str, Any] = {}
        self._distributions: dict[str, BaseDistribution] = {}
        self._user_attrs: dict[str, Any] = {}
        self._system_attrs: dict[str, Any] = {}
        self._datetime_start = datetime.datetime.now()
        self._number = number

    def _suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if name not in self._params:
            raise ValueError(f"The value of the parameter '{name}' is not found. Please set it at the construction "
                             f"of the FixedTrial object.")
        value = self._params[name]
        internal = distribution.to_internal_repr(value)
        if not distribution._contains(internal):
            warnings.warn(f"The value {value} of the parameter '{name}' is out of the range of the distribution "
                          f"{distribution}.", UserWarning, stacklevel=3)
        if name in self._distributions:
            _dist.check_distribution_compatibility(self._distributions[name], distribution)
        self._suggested_params[name] = value
        self._distributions[name] = distribution
        return value

    def report(self, value: float, step: int) -> None:
        pass

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self._system_attrs[key] = value

    def set_constraint(self, key: Any, value: float | None = None) -> None:
        if value is None and isinstance(key, (list, tuple)):
            self._system_attrs[CONSTRAINTS_KEY] = [float(c) for c in key]
        else:
            self._system_attrs[f"{CONSTRAINTS_KEY}:{key}"] = float(value)  # type: ignore[arg-type]

    params = property(lambda self: self._suggested_params)
    distributions = property(lambda self: self._distributions)
    user_attrs = property(lambda self: self._user_attrs)
    system_attrs = property(lambda self: self._system_attrs)
    datetime_start = property(lambda self: self._datetime_start)
    number = property(lambda self: self._number)


def _filter_study(study: Any, trial: FrozenTrial) -> Any:
    """pruners._filter_study (imported on first use: pruners import the trial records)."""
    global _filter_study
    from ..pruners import _filter_study as filter_study
    _filter_study = filter_study
    return filter_study(study, trial)
