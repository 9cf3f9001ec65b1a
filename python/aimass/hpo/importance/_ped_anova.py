"""PedAnovaImportanceEvaluator (Optuna 5's default): each parameter's values binned on a grid, the
Pearson divergence between the top trials' and the region's Parzen estimators computed natively
(aimass._core.hpo.ped_anova_divergence; csrc/hpo/importance.h)."""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Callable

import numpy as np

from ... import _core
from ..distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from ..study._direction import StudyDirection
from ..study._study import Study
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseImportanceEvaluator, _check_params, _get_filtered_trials, _sort_dict_by_importance, _target_value


def _grid_counts(name: str, dist: BaseDistribution, trials: list[FrozenTrial], n_steps: int) -> np.ndarray:
    """How many of trials fall in each grid bin of dist: n_steps bins over [low, high] (log scale for
    log distributions; fewer for small int / stepped ranges), one per choice for a categorical."""
    if isinstance(dist, CategoricalDistribution):
        index = [int(dist.to_internal_repr(t.params[name])) for t in trials]
        return np.bincount(index, minlength=len(dist.choices))
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    if isinstance(dist, IntDistribution) and dist.log:
        n_steps = min(int(np.ceil(np.log(dist.high - dist.low + 1) / np.log(2))) + 1, n_steps)
    elif dist.step is not None:
        n_steps = min(round((dist.high - dist.low) / dist.step) + 1, n_steps)
    low, high = (math.log(dist.low), math.log(dist.high)) if dist.log else (dist.low, dist.high)
    values = (np.log if dist.log else np.asarray)([t.params[name] for t in trials])
    index = np.clip(np.ceil((values - low) / ((high - low) / (n_steps - 1)) - 0.5).astype(int), 0, n_steps - 1)
    return np.bincount(index, minlength=n_steps)


def _top_quantile(trials: list[FrozenTrial], quantile: float, lower_is_better: bool,
                  target: Callable[[FrozenTrial], float] | None) -> list[FrozenTrial]:
    """The trials at or better than the quantile's cut-off value (ties kept)."""
    if quantile == 1.0:
        return trials
    loss = (1.0 if lower_is_better else -1.0) * np.asarray([_target_value(t, target) for t in trials])
    cut = int(math.ceil(quantile * loss.size)) - 1
    cutoff = float(np.partition(loss, cut)[cut])
    return [t for t, keep in zip(trials, loss <= cutoff) if keep]


class PedAnovaImportanceEvaluator(BaseImportanceEvaluator):
    """PED-ANOVA: how differently each parameter is distributed among the trials in the top
    ``target_quantile`` than among those in the top ``region_quantile`` (evaluate_on_local=False:
    than uniformly over the search space). Conditional parameters are handled by regimes (the
    trials that have the parameter with one distribution), as Optuna. Lower target is better when
    ``target`` is given; a multi-objective study needs ``target``."""

    def __init__(self, *, target_quantile: float = 0.1, region_quantile: float = 1.0,
                 evaluate_on_local: bool = True) -> None:
        if not 0.0 < target_quantile < region_quantile <= 1.0:
            raise ValueError("condition 0.0 < `target_quantile` < `region_quantile` <= 1.0 must be satisfied")
        if region_quantile != 1.0 and not evaluate_on_local:
            warnings.warn("If `evaluate_on_local` is False, `region_quantile` has no effect.", UserWarning,
                          stacklevel=2)
        self._target_quantile, self._region_quantile = target_quantile, region_quantile
        self._evaluate_on_local = evaluate_on_local
        self._n_steps, self._prior_weight, self._min_n_trials_in_regime = 50, 1.0, 2

    def evaluate(self, study: Study, params: list[str] | None = None, *,
                 target: Callable[[FrozenTrial], float] | None = None) -> dict[str, float]:
        _check_params(params)
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        names = sorted({k for t in completed for k in t.distributions})
        if params is not None:
            missing = [p for p in params if p not in names]
            if missing:
                raise ValueError(f"Study must contain at least one completed trial for each specified parameter. "
                                 f"Missing parameters: {missing}.")
            names = list(params)
        if target is None and study._is_multi_objective():
            raise ValueError("PedAnovaImportanceEvaluator on a multi-objective study needs `target`, e.g. "
                             "`target=lambda t: t.values[0]`.")
        trials = _get_filtered_trials(study, (), target)
        if len(trials) <= 1:
            warnings.warn("The number of trials is too small to compute importances. Parameter importances will "
                          "be equal.", UserWarning, stacklevel=2)
            return {k: 0.0 for k in names}
        lower_is_better = target is not None or study.directions[0] == StudyDirection.MINIMIZE
        top = _top_quantile(trials, self._target_quantile, lower_is_better, target)
        region = _top_quantile(trials, self._region_quantile, lower_is_better, target)
        if len(top) == len(region):
            warnings.warn("Target and region quantiles select the same set of trials. Parameter importances will "
                          "be equal.", UserWarning, stacklevel=2)
        if not top:
            return {k: 0.0 for k in names}
        top_ids = {t._trial_id for t in top}
        importances = {k: 0.0 for k in names}
        for name in names:
            regimes: dict[BaseDistribution | None, list[FrozenTrial]] = defaultdict(list)
            for t in region:
                regimes[t.distributions.get(name)].append(t)
            if any(len(v) < self._min_n_trials_in_regime for v in regimes.values()):
                warnings.warn(f"Some regimes for parameter `{name}` have less than {self._min_n_trials_in_regime} "
                              f"trials. The importance of the parameter may be inaccurate.", UserWarning, stacklevel=2)
                regimes = {d: v for d, v in regimes.items() if len(v) >= self._min_n_trials_in_regime}
            for dist, region_regime in regimes.items():
                top_regime = [t for t in region_regime if t._trial_id in top_ids]
                if dist is None or dist.single() or not top_regime:
                    continue
                alpha, beta = len(top_regime) / len(top), len(region_regime) / len(region)
                div = _core.hpo.ped_anova_divergence(
                    _grid_counts(name, dist, top_regime, self._n_steps),
                    _grid_counts(name, dist, region_regime, self._n_steps),
                    isinstance(dist, CategoricalDistribution), self._prior_weight, self._evaluate_on_local)
                importances[name] += alpha ** 2 / beta * div
        scale = (len(top) / len(region)) ** 2
        return _sort_dict_by_importance({k: v * scale for k, v in importances.items()})
