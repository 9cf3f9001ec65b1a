"""The suggest_* methods shared by Trial, FixedTrial and FrozenTrial: each builds the distribution
Optuna builds for the call and hands it to the class's ``_suggest(name, distribution)``."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from ..distributions import CategoricalDistribution, FloatDistribution, IntDistribution


class SuggestMixin:
    def _suggest(self, name: str, distribution: Any) -> Any:  # pragma: no cover - each class has its own
        raise NotImplementedError

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        return float(self._suggest(name, FloatDistribution(low, high, log=log, step=step)))

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return int(self._suggest(name, IntDistribution(low, high, log=log, step=step)))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        return self._suggest(name, CategoricalDistribution(choices))

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_uniform", "suggest_float(..., low, high)")
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_loguniform", "suggest_float(..., low, high, log=True)")
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        _deprecated("suggest_discrete_uniform", "suggest_float(..., low, high, step=q)")
        return self.suggest_float(name, low, high, step=q)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} has been deprecated in v3.0.0. This feature will be removed in the future. "
                  f"Use {new} instead.", FutureWarning, stacklevel=3)
