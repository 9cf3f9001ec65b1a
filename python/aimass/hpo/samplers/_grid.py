"""GridSampler: every point of a given grid once, in a seeded random order, shared by all workers
through the storage (each trial records its "grid_id" and the grid's "search_space" as system
attributes, as Optuna does, so Optuna and aimass workers can share a study). The study stops once
every point is taken."""
from __future__ import annotations

import itertools
import warnings
from numbers import Real
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ..distributions import BaseDistribution
from ..logging import get_logger
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseSampler

if TYPE_CHECKING:
    from ..study._study import Study

_logger = get_logger(__name__)
GridValueType = Any  # str, float, int, bool or None


class GridSampler(BaseSampler):
    def __init__(self, search_space: Mapping[str, Sequence[GridValueType]], seed: int | None = None) -> None:
        for name, values in search_space.items():
            for value in values:
                _check_value(name, value)
        self._search_space = {name: list(values) for name, values in sorted(search_space.items())}
        self._all_grids = list(itertools.product(*self._search_space.values()))
        self._param_names = sorted(search_space)
        self._n_min_trials = len(self._all_grids)
        # numpy's RandomState, as Optuna: the same seed visits the grid in Optuna's order
        self._rng = np.random.RandomState(seed or 0)
        self._rng.shuffle(self._all_grids)

    def reseed_rng(self) -> None:
        self._rng.seed()

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        # Enqueued trials with all their parameters fixed need no grid point.
        if "grid_id" in trial.system_attrs or "fixed_params" in trial.system_attrs:
            return
        if 0 <= trial.number < self._n_min_trials:  # the first trials take the points in order
            grid_id = trial.number
        else:
            targets = self._get_unvisited_grid_ids(study)
            if not targets:
                _logger.warning("`GridSampler` is re-evaluating a configuration because the grid has been exhausted. "
                                "This may happen due to a timing issue during distributed optimization or when "
                                "re-running optimizations on already finished studies.")
                targets = list(range(len(self._all_grids)))
            grid_id = int(self._rng.choice(targets))
        study._storage.set_trial_system_attr(trial._trial_id, "search_space", self._search_space)
        study._storage.set_trial_system_attr(trial._trial_id, "grid_id", grid_id)

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if "grid_id" not in trial.system_attrs:
            raise ValueError("All parameters must be specified when using GridSampler with enqueue_trial.")
        if param_name not in self._search_space:
            raise ValueError(f"The parameter name, {param_name}, is not found in the given grid.")
        value = self._all_grids[trial.system_attrs["grid_id"]][self._param_names.index(param_name)]
        if not param_distribution._contains(param_distribution.to_internal_repr(value)):
            warnings.warn(f"The value `{value}` is out of range of the parameter `{param_name}`. The value will be "
                          f"used but the actual distribution is: `{param_distribution}`.")
        return value

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        targets = self._get_unvisited_grid_ids(study)
        if not targets:
            study.stop()
        elif len(targets) == 1:
            grid_id = study._storage.get_trial(trial._trial_id).system_attrs.get("grid_id")
            if grid_id == targets[0]:
                study.stop()

    def is_exhausted(self, study: "Study") -> bool:
        """True once every grid point has been evaluated."""
        return len(self._get_unvisited_grid_ids(study)) == 0

    def _get_unvisited_grid_ids(self, study: "Study") -> list[int]:
        visited, running = set(), set()
        for t in study._storage.get_all_trials(study._study_id, deepcopy=False):
            attrs = t.system_attrs
            if "grid_id" in attrs and self._same_search_space(attrs["search_space"]):
                if t.state.is_finished():
                    visited.add(attrs["grid_id"])
                elif t.state == TrialState.RUNNING:
                    running.add(attrs["grid_id"])
        unvisited = set(range(self._n_min_trials)) - visited - running
        if not unvisited:
            unvisited = set(range(self._n_min_trials)) - visited
        return sorted(unvisited)

    def _same_search_space(self, search_space: Mapping[str, Sequence[GridValueType]]) -> bool:
        if search_space == self._search_space:
            return True
        if set(search_space) != set(self._search_space):
            return False
        for name, values in search_space.items():
            ours = self._search_space[name]
            if len(values) != len(ours) or not all(_grid_value_equal(a, b) for a, b in zip(values, ours)):
                return False
        return True


def _grid_value_equal(a: GridValueType, b: GridValueType) -> bool:
    a_nan = isinstance(a, Real) and np.isnan(float(a))
    b_nan = isinstance(b, Real) and np.isnan(float(b))
    return a == b or (a_nan and b_nan)


def _check_value(name: str, value: Any) -> None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return
    warnings.warn(f"{name} contains a value with the type of {type(value)}, which is not supported by `GridSampler`. "
                  "Please make sure a value is `str`, `int`, `float`, `bool` or `None` for persistent storage.")
