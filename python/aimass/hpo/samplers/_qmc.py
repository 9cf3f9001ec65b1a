"""QMCSampler: the i-th trial takes the i-th point of a low-discrepancy sequence (native Sobol with
Joe-Kuo direction numbers, or Halton: csrc/hpo/sobol.h), mapped onto the search space of the
first trial. The point index is a counter in the study's system attributes, so workers sharing
a storage walk one sequence (they must share the seed when scrambling)."""
from __future__ import annotations

import hashlib
import json
import threading
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..._core import hpo as _native
from ..distributions import BaseDistribution, CategoricalDistribution
from ..logging import get_logger
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseSampler
from ._random import RandomSampler

if TYPE_CHECKING:
    from ..study._study import Study

_logger = get_logger(__name__)
_SUGGESTED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
_counter_lock = threading.Lock()  # the read-increment of the shared counter, across threads


class QMCSampler(BaseSampler):
    def __init__(self, *, qmc_type: str = "sobol", scramble: bool = False, seed: int | None = None,
                 independent_sampler: BaseSampler | None = None, warn_asynchronous_seeding: bool = True,
                 warn_independent_sampling: bool = True) -> None:
        if qmc_type not in ("halton", "sobol"):
            raise ValueError(f"The `qmc_type={qmc_type!r}` is invalid. Choose either `halton` or `sobol`.")
        self._qmc_type = qmc_type
        self._scramble = scramble
        self._seed = int(np.random.PCG64().random_raw()) if seed is None else seed
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._warn_independent_sampling = warn_independent_sampling
        self._engines: dict[int, Any] = {}
        if seed is None and scramble and warn_asynchronous_seeding:
            _logger.warning("No seed is provided for `QMCSampler` and the seed is set randomly. If you are running "
                            "multiple `QMCSampler`s in parallel and/or distributed  environment, the same seed must be "
                            "used in all samplers to ensure that resulting samples are taken from the same QMC "
                            "sequence. ")

    def reseed_rng(self) -> None:
        self._independent_sampler.reseed_rng()  # the sequence itself must stay common to all workers

    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        trials = study._get_trials(deepcopy=False)
        past = [t for t in trials if t.state in _SUGGESTED_STATES]
        if past:
            return dict(min(past, key=lambda t: t.number).distributions)
        pending = [t for t in trials if t.state == TrialState.RUNNING]
        union: dict[str, BaseDistribution] = {}
        common: set[str] | None = None
        for t in pending:
            union.update(t.distributions)
            if common is None:
                common = set(t.distributions)
            elif t.distributions:
                common &= set(t.distributions)
        if common is not None and common != set(union):
            _logger.warning("`QMCSampler` assumes that the search space does not include any conditions. Please make "
                            "sure the provided search space is non-conditional.")
        return union

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if self._warn_independent_sampling and any(
                t.state in _SUGGESTED_STATES for t in study._get_trials(deepcopy=False)):
            _logger.warning(
                f"The parameter `{param_name}` in Trial#{trial.number} is sampled independently using "
                f"`{type(self._independent_sampler).__name__}` instead of `QMCSampler`, potentially degrading the "
                "optimization performance. This fallback happened because dynamic search space is not supported by "
                "`QMCSampler`. You can suppress this warning by setting `warn_independent_sampling` to `False` in the "
                "constructor of `QMCSampler` if this independent sampling is intended behavior.")
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        point = self._point(self._sample_id(study, search_space), len(search_space))
        return {name: _from_unit(dist, u) for (name, dist), u in zip(search_space.items(), point.tolist())}

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_engines"] = {}
        return state

    def _point(self, index: int, d: int) -> np.ndarray:
        engine = self._engines.get(d)
        if engine is None:
            cls = _native.Sobol if self._qmc_type == "sobol" else _native.Halton
            engine = self._engines[d] = cls(d, self._scramble, self._seed & 0xFFFFFFFFFFFFFFFF)
        return engine.points(index, 1)[0]

    def _sample_id(self, study: "Study", search_space: dict[str, BaseDistribution]) -> int:
        qmc_vars: dict[str, Any] = {"qmc_type": self._qmc_type,
                                    "search_space": {n: str(d) for n, d in sorted(search_space.items())}}
        if self._scramble:
            qmc_vars.update(scramble=True, seed=self._seed)
        else:
            qmc_vars.update(scramble=False)
        key = "qmc:" + hashlib.sha256(json.dumps(qmc_vars).encode()).hexdigest()
        with _counter_lock:
            sample_id = study._storage.get_study_system_attrs(study._study_id).get(key, -1) + 1
            study._storage.set_study_system_attr(study._study_id, key, sample_id)
        return sample_id


def _from_unit(dist: BaseDistribution, u: float) -> Any:
    """A point of [0, 1) onto the parameter (Optuna's _SearchSpaceTransform(transform_0_1=True))."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[min(int(u * len(dist.choices)), len(dist.choices) - 1)]
    return dist.to_external_repr(_native.from_unit(u, dist.low, dist.high, dist.step or 0.0, dist.log))
