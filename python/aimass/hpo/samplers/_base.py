"""The sampler interface (Optuna's ``BaseSampler``, same methods).

A trial's parameters come from two calls: ``sample_relative`` once per trial, for the joint
search space that ``infer_relative_search_space`` names (the parameters every finished trial had:
multivariate TPE, CMA-ES and GP model them together), and ``sample_independent`` for each other
parameter, one at a time. ``after_trial`` sees every trial end before the storage records it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..distributions import BaseDistribution
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState

if TYPE_CHECKING:
    from ..study._study import Study


class BaseSampler:
    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        raise NotImplementedError

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        pass

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        pass

    def reseed_rng(self) -> None:
        pass

    def _raise_error_if_multi_objective(self, study: "Study") -> None:
        if len(study.directions) > 1:
            raise ValueError(f"If the study is being used for multi-objective optimization, {type(self).__name__} "
                             f"cannot be used.")

    def __str__(self) -> str:
        return type(self).__name__
