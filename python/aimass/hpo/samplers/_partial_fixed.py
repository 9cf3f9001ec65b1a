from __future__ import annotations

import warnings
from typing import Any

from ..distributions import BaseDistribution
from ._base import BaseSampler


class PartialFixedSampler(BaseSampler):
    """base_sampler for every parameter except those in fixed_params, which always take their
    given value (a value outside its distribution warns, as in Optuna, and is used anyway)."""

    def __init__(self, fixed_params: dict[str, Any], base_sampler: BaseSampler) -> None:
        self._fixed_params = dict(fixed_params)
        self._base_sampler = base_sampler

    def reseed_rng(self) -> None:
        self._base_sampler.reseed_rng()

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, BaseDistribution]:
        space = self._base_sampler.infer_relative_search_space(study, trial)
        return {name: dist for name, dist in space.items() if name not in self._fixed_params}

    def sample_relative(self, study: Any, trial: Any, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._base_sampler.sample_relative(study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: BaseDistribution) -> Any:
        if param_name not in self._fixed_params:
            return self._base_sampler.sample_independent(study, trial, param_name, param_distribution)
        value = self._fixed_params[param_name]
        if not param_distribution._contains(param_distribution.to_internal_repr(value)):
            warnings.warn(f"Fixed parameter '{param_name}' with value {value} is out of range for distribution "
                          f"{param_distribution}.", UserWarning, stacklevel=2)
        return value

    def before_trial(self, study: Any, trial: Any) -> None:
        self._base_sampler.before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._base_sampler.after_trial(study, trial, state, values)
