"""FanovaImportanceEvaluator: fANOVA on a native random forest (csrc/hpo/importance.h)."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ... import _core
from ..distributions import CategoricalDistribution
from ..study._study import Study
from ..trial._frozen import FrozenTrial
from ._base import (BaseImportanceEvaluator, _get_distributions, _get_filtered_trials, _sort_dict_by_importance,
                    _target_value)


class FanovaImportanceEvaluator(BaseImportanceEvaluator):
    """fANOVA: a random forest of ``n_trees`` regression trees (depth at most ``max_depth``) fitted to
    the trials' parameters -> target; a parameter's importance is the share of each tree's variance
    over the search space explained by the tree's prediction marginalised to that parameter, averaged
    over the trees. Numbers are raw values (no log scale), categoricals one-hot, as Optuna's.
    ``seed``: the forest's bootstrap samples (None: a fresh seed each call)."""

    def __init__(self, *, n_trees: int = 64, max_depth: int = 64, seed: int | None = None) -> None:
        self._n_trees, self._max_depth, self._seed = n_trees, max_depth, seed

    def evaluate(self, study: Study, params: list[str] | None = None, *,
                 target: Callable[[FrozenTrial], float] | None = None) -> dict[str, float]:
        if target is None and study._is_multi_objective():
            raise ValueError("If the `study` is being used for multi-objective optimization, please specify the "
                             "`target`. For example, use `target=lambda t: t.values[0]` for the first objective value.")
        distributions = _get_distributions(study, params)
        params = list(distributions) if params is None else params
        varying = {name: d for name, d in distributions.items() if not d.single()}
        single = [name for name, d in distributions.items() if d.single()]
        if not varying:
            return {name: 0.0 for name in single}
        trials = _get_filtered_trials(study, params, target)
        if len(trials) <= 1:
            return {name: 0.0 for name in params}
        columns, bounds, groups = [], [], []
        for name, dist in varying.items():
            values = np.asarray([dist.to_internal_repr(t.params[name]) for t in trials], dtype=float)
            if isinstance(dist, CategoricalDistribution):  # one-hot, a column per choice
                start = len(columns)
                for k in range(len(dist.choices)):
                    columns.append((values == k).astype(float))
                    bounds.append((0.0, 1.0))
                groups.append(list(range(start, len(columns))))
            else:
                groups.append([len(columns)])
                columns.append(values)
                bounds.append((float(dist.low), float(dist.high)))
        X = np.stack(columns, axis=1)
        y = np.asarray([_target_value(t, target) for t in trials], dtype=float)
        seed = self._seed if self._seed is not None else int.from_bytes(os.urandom(8), "little")
        shares = _core.hpo.fanova_importances(X, y, np.asarray(bounds, dtype=float), groups, self._n_trees,
                                              self._max_depth, seed & (2**64 - 1))
        return _sort_dict_by_importance({**dict(zip(varying, map(float, shares))), **{n: 0.0 for n in single}})
