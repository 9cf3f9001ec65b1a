"""The evaluator interface and the trial/parameter selection both evaluators share (Optuna's)."""
from __future__ import annotations

import math
from typing import Callable, Collection

from ..distributions import BaseDistribution
from ..samplers._search_space import intersection_search_space
from ..study._study import Study
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState


class BaseImportanceEvaluator:
    def evaluate(self, study: Study, params: list[str] | None = None, *,
                 target: Callable[[FrozenTrial], float] | None = None) -> dict[str, float]:
        raise NotImplementedError


def _check_params(params: list[str] | None) -> None:
    if params is None:
        return
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"Parameters must be specified as a list. Actual parameters: {params}.")
    if any(not isinstance(p, str) for p in params):
        raise TypeError(f"Parameters must be specified by their names with strings. Actual parameters: {params}.")


def _get_distributions(study: Study, params: list[str] | None) -> dict[str, BaseDistribution]:
    """The parameters to assess with their distribution: the intersection search space, or those
    named (which must share one distribution over the COMPLETE trials that have them all)."""
    _check_params(params)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if params is None:
        return intersection_search_space(study.get_trials(deepcopy=False))
    if params and not any(all(p in t.distributions for p in params) for t in completed):
        raise ValueError(f"Study must contain completed trials with all specified parameters. "
                         f"Specified parameters: {params}.")
    distributions: dict[str, BaseDistribution] | None = None
    for t in completed:
        if not all(p in t.distributions for p in params):
            continue
        if distributions is None:
            distributions = {name: d for name, d in t.distributions.items() if name in params}
        elif any(t.distributions[name] != d for name, d in distributions.items()):
            raise ValueError(f"Parameters importances cannot be assessed with dynamic search spaces if parameters "
                             f"are specified. Specified parameters: {params}.")
    return dict(sorted((distributions or {}).items()))


def _target_value(trial: FrozenTrial, target: Callable[[FrozenTrial], float] | None) -> float:
    return float(target(trial)) if target is not None else float(trial.value)


def _get_filtered_trials(study: Study, params: Collection[str],
                         target: Callable[[FrozenTrial], float] | None) -> list[FrozenTrial]:
    """COMPLETE trials that have every parameter in params and a finite target."""
    names = set(params)
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if names <= set(t.params) and math.isfinite(_target_value(t, target))]


def _sort_dict_by_importance(importances: dict[str, float]) -> dict[str, float]:
    return dict(reversed(sorted(importances.items(), key=lambda kv: kv[1])))
