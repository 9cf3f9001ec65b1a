"""Search-space distributions, as Optuna's (``optuna.distributions``).

Each parameter of a trial has a distribution; the storage keeps a parameter in its *internal*
form, a float: the value itself for float and int parameters, the index of the choice for a
categorical one. Distributions are saved as Optuna's JSON, so an Optuna study and an aimass study
read each other's parameters.
"""
from __future__ import annotations

import decimal
import json
import math
import warnings
from typing import Any, Sequence

__all__ = [
    "BaseDistribution", "FloatDistribution", "IntDistribution", "CategoricalDistribution",
    "UniformDistribution", "LogUniformDistribution", "DiscreteUniformDistribution",
    "IntUniformDistribution", "IntLogUniformDistribution", "CategoricalChoiceType",
    "distribution_to_json", "json_to_distribution", "check_distribution_compatibility",
]

CategoricalChoiceType = Any  # None, bool, int, float or str


class BaseDistribution:
    """A parameter's range. Subclasses set their attributes in ``__init__`` and nothing else."""

    def to_external_repr(self, param_value_in_internal_repr: float) -> Any:
        return param_value_in_internal_repr

    def to_internal_repr(self, param_value_in_external_repr: Any) -> float:
        return float(param_value_in_external_repr)

    def single(self) -> bool:
        raise NotImplementedError

    def _contains(self, param_value_in_internal_repr: float) -> bool:
        raise NotImplementedError

    def _asdict(self) -> dict:
        return dict(self.__dict__)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, BaseDistribution) and type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__,) + tuple(sorted((k, _hashable(v)) for k, v in self.__dict__.items())))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._asdict().items())})"


def _numeric_internal(value: Any, log: bool) -> float:
    """A float or int parameter's internal form: the value as a float; ValueError for NaN, for a
    value that is no number, and for one <= 0 on a log scale."""
    try:
        internal = float(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"'{value}' is not a valid type. float-castable value is expected.") from e
    if math.isnan(internal):
        raise ValueError(f"`{value}` is invalid value.")
    if log and internal <= 0.0:
        raise ValueError(f"`{value}` is invalid value for the case log=True.")
    return internal


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, (list, tuple)) else v


def _adjusted_high(low: float, high: float, step: float) -> float:
    """The largest low + k * step <= high, computed in decimal so 0.1 steps do not drift."""
    d_low, d_high, d_step = (decimal.Decimal(str(v)) for v in (low, high, step))
    return float((d_high - d_low) // d_step * d_step + d_low)


class FloatDistribution(BaseDistribution):
    """A float in [low, high]; ``log=True`` samples its logarithm uniformly, ``step`` discretises it."""

    def __init__(self, low: float, high: float, log: bool = False, step: float | None = None) -> None:
        if log and step is not None:
            raise ValueError("The parameter `step` is not supported when `log` is true.")
        if low > high:
            raise ValueError(f"`low <= high` must hold, but got low={low} > high={high}.")
        if log and low <= 0.0:
            raise ValueError(f"`low > 0` must hold for `log=True`, but got low={low}.")
        if step is not None and step <= 0:
            raise ValueError(f"`step > 0` must hold, but got step={step}.")
        if step is not None:
            adjusted = _adjusted_high(low, high, step)
            if adjusted != high:
                warnings.warn(f"The distribution is specified by [{low}, {high}] and step={step}, but the range is not "
                              f"divisible by `step`. It will be replaced with [{low}, {adjusted}].", UserWarning)
            high = adjusted
        self.step = None if step is None else float(step)
        self.low = float(low)
        self.high = float(high)
        self.log = bool(log)

    def single(self) -> bool:
        if self.step is None:
            return self.low == self.high
        if self.low == self.high:
            return True
        return (decimal.Decimal(str(self.high)) - decimal.Decimal(str(self.low))) < decimal.Decimal(str(self.step))

    def _contains(self, value: float) -> bool:
        if self.step is None:
            return self.low <= value <= self.high
        k = (value - self.low) / self.step
        return self.low <= value <= self.high and abs(k - round(k)) < 1.0e-8

    def to_internal_repr(self, value: Any) -> float:
        return _numeric_internal(value, self.log)


class IntDistribution(BaseDistribution):
    """An integer in [low, high] with ``step`` between values; ``log=True`` samples it log-uniformly."""

    def __init__(self, low: int, high: int, log: bool = False, step: int = 1) -> None:
        if log and step != 1:
            raise ValueError("Samplers and other components in aimass.hpo only accept step is 1 when `log` argument is True.")
        if low > high:
            raise ValueError(f"`low <= high` must hold, but got low={low} > high={high}.")
        if log and low < 1:
            raise ValueError(f"`low >= 1` must hold for `log=True`, but got low={low}.")
        if step <= 0:
            raise ValueError(f"`step > 0` must hold, but got step={step}.")
        adjusted = int((high - low) // step * step + low)
        if adjusted != high:
            warnings.warn(f"The distribution is specified by [{low}, {high}] and step={step}, but the range is not "
                          f"divisible by `step`. It will be replaced with [{low}, {adjusted}].", UserWarning)
        self.log = bool(log)
        self.step = int(step)
        self.low = int(low)
        self.high = adjusted

    def to_external_repr(self, value: float) -> int:
        return int(value)

    def to_internal_repr(self, value: Any) -> float:
        return _numeric_internal(value, self.log)

    def single(self) -> bool:
        return self.low == self.high or self.high - self.low < self.step

    def _contains(self, value: float) -> bool:
        return self.low <= value <= self.high and (value - self.low) % self.step == 0


class CategoricalDistribution(BaseDistribution):
    """One of ``choices`` (None, bool, int, float or str); stored as the choice's index."""

    def __init__(self, choices: Sequence[CategoricalChoiceType]) -> None:
        if len(choices) == 0:
            raise ValueError("The `choices` must contain one or more elements.")
        for choice in choices:
            if choice is not None and not isinstance(choice, (bool, int, float, str)):
                warnings.warn(f"Choices for a categorical distribution should be a tuple of None, bool, int, float and "
                              f"str for persistent storage but contains {choice} which is of type "
                              f"{type(choice).__name__}.", UserWarning)
        self.choices = tuple(choices)

    def to_external_repr(self, value: float) -> Any:
        return self.choices[int(value)]

    def to_internal_repr(self, value: Any) -> float:
        try:
            return float(self.choices.index(value))
        except ValueError:
            for i, choice in enumerate(self.choices):  # NaN is a choice only by identity or both being NaN
                if _is_nan(choice) and _is_nan(value):
                    return float(i)
            raise ValueError(f"'{value}' not in {self.choices}.") from None

    def single(self) -> bool:
        return len(self.choices) == 1

    def _contains(self, value: float) -> bool:
        index = int(value)
        return 0 <= index < len(self.choices) and index == value

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, CategoricalDistribution) or len(self.choices) != len(other.choices):
            return False
        return all(a == b or (_is_nan(a) and _is_nan(b)) for a, b in zip(self.choices, other.choices))

    __hash__ = BaseDistribution.__hash__


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


class _Deprecated:
    """The distributions of Optuna 2, still accepted (with a FutureWarning) and stored as the new ones."""

    def _warn(self) -> None:
        warnings.warn(f"{type(self).__name__} has been deprecated; use {type(self).__mro__[2].__name__} instead.",
                      FutureWarning, stacklevel=3)


class UniformDistribution(_Deprecated, FloatDistribution):
    def __init__(self, low: float, high: float) -> None:
        self._warn()
        FloatDistribution.__init__(self, low, high)

    def _asdict(self) -> dict:
        return {"low": self.low, "high": self.high}


class LogUniformDistribution(_Deprecated, FloatDistribution):
    def __init__(self, low: float, high: float) -> None:
        self._warn()
        FloatDistribution.__init__(self, low, high, log=True)

    def _asdict(self) -> dict:
        return {"low": self.low, "high": self.high}


class DiscreteUniformDistribution(_Deprecated, FloatDistribution):
    def __init__(self, low: float, high: float, q: float) -> None:
        self._warn()
        FloatDistribution.__init__(self, low, high, step=q)

    @property
    def q(self) -> float:
        return self.step

    def _asdict(self) -> dict:
        return {"low": self.low, "high": self.high, "q": self.step}


class IntUniformDistribution(_Deprecated, IntDistribution):
    def __init__(self, low: int, high: int, step: int = 1) -> None:
        self._warn()
        IntDistribution.__init__(self, low, high, step=step)

    def _asdict(self) -> dict:
        return {"low": self.low, "high": self.high, "step": self.step}


class IntLogUniformDistribution(_Deprecated, IntDistribution):
    def __init__(self, low: int, high: int, step: int = 1) -> None:
        self._warn()
        IntDistribution.__init__(self, low, high, log=True, step=step)

    def _asdict(self) -> dict:
        return {"low": self.low, "high": self.high, "step": self.step}


_BY_NAME = {c.__name__: c for c in (FloatDistribution, IntDistribution, CategoricalDistribution)}


def distribution_to_json(dist: BaseDistribution) -> str:
    """Optuna's JSON: ``{"name": "FloatDistribution", "attributes": {...}}``."""
    if isinstance(dist, _Deprecated):  # stored as the distribution it stands for
        dist = _modern(dist)
    return json.dumps({"name": type(dist).__name__, "attributes": dist._asdict()})


def _modern(dist: BaseDistribution) -> BaseDistribution:
    if isinstance(dist, FloatDistribution):
        return FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)


def json_to_distribution(json_str: str) -> BaseDistribution:
    """The distribution of Optuna's JSON, including the deprecated names Optuna 2 wrote."""
    try:
        loaded = json.loads(json_str)
        name, attrs = loaded["name"], dict(loaded["attributes"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a distribution's JSON: {json_str!r}") from e
    if name in _BY_NAME:
        if name == "CategoricalDistribution":
            return CategoricalDistribution(attrs["choices"])
        return _BY_NAME[name](**attrs)
    legacy = {
        "UniformDistribution": lambda a: FloatDistribution(a["low"], a["high"]),
        "LogUniformDistribution": lambda a: FloatDistribution(a["low"], a["high"], log=True),
        "DiscreteUniformDistribution": lambda a: FloatDistribution(a["low"], a["high"], step=a["q"]),
        "IntUniformDistribution": lambda a: IntDistribution(a["low"], a["high"], step=a.get("step", 1)),
        "IntLogUniformDistribution": lambda a: IntDistribution(a["low"], a["high"], log=True),
    }
    if name not in legacy:
        raise ValueError(f"unknown distribution {name!r} in {json_str!r}")
    return legacy[name](attrs)


def check_distribution_compatibility(dist_old: BaseDistribution, dist_new: BaseDistribution) -> None:
    """ValueError when a parameter changes kind, log scale or (categorical) choices between suggestions."""
    old = _modern(dist_old) if isinstance(dist_old, _Deprecated) else dist_old
    new = _modern(dist_new) if isinstance(dist_new, _Deprecated) else dist_new
    if type(old) is not type(new):
        raise ValueError("Cannot set different distribution kind to the same parameter name.")
    if isinstance(old, (FloatDistribution, IntDistribution)) and old.log != new.log:
        raise ValueError("Cannot set different log configuration to the same parameter name.")
    if isinstance(old, CategoricalDistribution) and old != new:
        raise ValueError("CategoricalDistribution does not support dynamic value space.")


def _get_single_value(dist: BaseDistribution) -> Any:
    assert dist.single()
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[0]
    return dist.low


def _is_distribution_log(dist: BaseDistribution) -> bool:
    return isinstance(dist, (FloatDistribution, IntDistribution)) and dist.log
