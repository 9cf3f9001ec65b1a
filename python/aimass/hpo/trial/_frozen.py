from __future__ import annotations

import datetime
import math
from typing import Any

from ..distributions import BaseDistribution, check_distribution_compatibility
from ._state import TrialState
from ._suggest import SuggestMixin


CONSTRAINTS_KEY = "constraints"


def constraints_of(system_attrs: dict[str, Any]) -> dict[str, float]:
    """A trial's constraints by name: the list form ("constraints": [c0, ...] named "0", "1", ...)
    and Optuna 5's one attribute per constraint ("constraints:<name>")."""
    out: dict[str, float] = {}
    legacy = system_attrs.get(CONSTRAINTS_KEY)
    if isinstance(legacy, (list, tuple)):
        out.update({str(i): float(c) for i, c in enumerate(legacy)})
    prefix = CONSTRAINTS_KEY + ":"
    for key, value in system_attrs.items():
        if key.startswith(prefix):
            out[key[len(prefix):]] = float(value)
    return out


class FrozenTrial(SuggestMixin):
    """A trial's record: number, state, objective value(s), parameters with their distributions,
    attributes, intermediate values and times. Calling suggest_* on it returns the recorded
    parameter (an objective can be re-run on a finished trial)."""

    def __init__(self, number: int, state: TrialState, value: float | None, datetime_start: datetime.datetime | None,
                 datetime_complete: datetime.datetime | None, params: dict[str, Any],
                 distributions: dict[str, BaseDistribution], user_attrs: dict[str, Any], system_attrs: dict[str, Any],
                 intermediate_values: dict[int, float], trial_id: int, *, values: list[float] | None = None) -> None:
        if value is not None and values is not None:
            raise ValueError("Specify only one of `value` and `values`.")
        self._number = number
        self.state = state
        self._values = [float(value)] if value is not None else (None if values is None else [float(v) for v in values])
        self._datetime_start = datetime_start
        self.datetime_complete = datetime_complete
        self._params = params
        self._distributions = distributions
        self._user_attrs = user_attrs
        self._system_attrs = system_attrs
        self.intermediate_values = intermediate_values
        self._trial_id = trial_id

    # ---- values
    @property
    def value(self) -> float | None:
        if self._values is None:
            return None
        if len(self._values) > 1:
            raise RuntimeError("This attribute is not available during multi-objective optimization.")
        return self._values[0]

    @value.setter
    def value(self, v: float | None) -> None:
        self._values = None if v is None else [float(v)]

    @property
    def values(self) -> list[float] | None:
        return self._values

    @values.setter
    def values(self, v: list[float] | None) -> None:
        self._values = None if v is None else [float(x) for x in v]

    # ---- the rest of the record
    number = property(lambda self: self._number, lambda self, v: setattr(self, "_number", v))
    params = property(lambda self: self._params, lambda self, v: setattr(self, "_params", v))
    user_attrs = property(lambda self: self._user_attrs, lambda self, v: setattr(self, "_user_attrs", v))
    system_attrs = property(lambda self: self._system_attrs, lambda self, v: setattr(self, "_system_attrs", v))
    datetime_start = property(lambda self: self._datetime_start, lambda self, v: setattr(self, "_datetime_start", v))

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return self._distributions

    @distributions.setter
    def distributions(self, v: dict[str, BaseDistribution]) -> None:
        self._distributions = v

    @property
    def constraints(self) -> dict[str, float]:
        """Constraint values by name (feasible when all are <= 0); empty when none were set."""
        return constraints_of(self._system_attrs)

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> datetime.timedelta | None:
        if self._datetime_start and self.datetime_complete:
            return self.datetime_complete - self._datetime_start
        return None

    # ---- acting as a trial (re-running an objective on a record)
    def _suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if name not in self._params:
            raise ValueError(f"The value of the parameter '{name}' is not found. Please set it at the construction "
                             f"of the FrozenTrial object.")
        value = self._params[name]
        internal = distribution.to_internal_repr(value)
        if not distribution._contains(internal):
            raise ValueError(f"The value {value} of the parameter '{name}' is out of the range of the distribution "
                             f"{distribution}.")
        if name in self._distributions:
            check_distribution_compatibility(self._distributions[name], distribution)
        return value

    def report(self, value: float, step: int) -> None:
        pass

    def should_prune(self) -> bool:
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self._system_attrs[key] = value

    def _validate(self) -> None:
        if self._datetime_start is None and self.state != TrialState.WAITING:
            raise ValueError("`datetime_start` is supposed to be set when the trial is not waiting.")
        if self.state.is_finished() and self.datetime_complete is None:
            raise ValueError("`datetime_complete` is supposed to be set for a finished trial.")
        if not self.state.is_finished() and self.datetime_complete is not None:
            raise ValueError("`datetime_complete` is supposed to be None for an unfinished trial.")
        if self.state == TrialState.FAIL and self._values is not None:
            raise ValueError(f"values should be None for a failed trial, but got {self._values}.")
        if self.state == TrialState.COMPLETE:
            if self._values is None:
                raise ValueError("values should be set for a complete trial.")
            if any(math.isnan(v) for v in self._values):
                raise ValueError("values should not contain NaN.")
        if set(self._params) != set(self._distributions):
            raise ValueError(f"Inconsistent parameters {set(self._params)} and distributions {set(self._distributions)}.")
        for name, value in self._params.items():
            dist = self._distributions[name]
            if not dist._contains(dist.to_internal_repr(value)):
                raise ValueError(f"The value {value} of parameter '{name}' isn't contained in the distribution {dist}.")

    # ---- comparison and display
    def _key(self) -> tuple:
        return (self._number, self.state, self._values, self._datetime_start, self.datetime_complete, self._params,
                self._distributions, self._user_attrs, self._system_attrs, self.intermediate_values, self._trial_id)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, FrozenTrial) and self._key() == other._key()

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, FrozenTrial):
            return NotImplemented
        return self._number < other._number

    def __le__(self, other: Any) -> bool:
        if not isinstance(other, FrozenTrial):
            return NotImplemented
        return self._number <= other._number

    __hash__ = None  # type: ignore[assignment]  (mutable, as Optuna's)

    def __repr__(self) -> str:
        return (f"FrozenTrial(number={self._number}, state={self.state!r}, values={self._values}, "
                f"datetime_start={self._datetime_start!r}, datetime_complete={self.datetime_complete!r}, "
                f"params={self._params}, user_attrs={self._user_attrs}, system_attrs={self._system_attrs}, "
                f"intermediate_values={self.intermediate_values}, distributions={self._distributions}, "
                f"trial_id={self._trial_id}, value=None)")

    def _copy(self) -> "FrozenTrial":
        """A copy whose dicts can be changed without touching this one (values are shared)."""
        return FrozenTrial(self._number, self.state, None, self._datetime_start, self.datetime_complete,
                           dict(self._params), dict(self._distributions), dict(self._user_attrs),
                           dict(self._system_attrs), dict(self.intermediate_values), self._trial_id,
                           values=None if self._values is None else list(self._values))


def create_trial(*, state: TrialState = TrialState.COMPLETE, value: float | None = None,
                 values: list[float] | None = None, params: dict[str, Any] | None = None,
                 distributions: dict[str, BaseDistribution] | None = None, user_attrs: dict[str, Any] | None = None,
                 system_attrs: dict[str, Any] | None = None,
                 intermediate_values: dict[int, float] | None = None) -> FrozenTrial:
    """A FrozenTrial to add to a study with ``Study.add_trial`` (validated there)."""
    now = datetime.datetime.now()
    start = None if state == TrialState.WAITING else now
    complete = now if state.is_finished() else None
    return FrozenTrial(-1, state, value, start, complete, dict(params or {}), dict(distributions or {}),
                       dict(user_attrs or {}), dict(system_attrs or {}), dict(intermediate_values or {}), -1,
                       values=values)
