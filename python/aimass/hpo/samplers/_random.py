"""RandomSampler: every parameter on its own, uniformly in its transformed range (native draw:
csrc/hpo/random_sampler.h)."""
from __future__ import annotations

import threading
from typing import Any

from ..._core import hpo as _native
from ..distributions import BaseDistribution, CategoricalDistribution
from ._base import BaseSampler


class RandomSampler(BaseSampler):
    """Floats uniform in [low, high] (log-uniform for ``log=True``); stepped floats and ints uniform
    over [low - step/2, high + step/2] then rounded to the grid; categorical choices uniform. Same
    seed, same draws."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._rng = _native.Rng(seed)
        self._lock = threading.Lock()  # n_jobs threads share the generator

    def reseed_rng(self) -> None:
        self._rng.reseed(None)

    def sample_independent(self, study: Any, trial: Any, param_name: str, dist: BaseDistribution) -> Any:
        with self._lock:
            if isinstance(dist, CategoricalDistribution):
                return dist.choices[self._rng.below(len(dist.choices))]
            step = dist.step or 0.0
            value = self._rng.sample_numerical(dist.low, dist.high, step, dist.log)
        return dist.to_external_repr(value)

    def __getstate__(self) -> dict:
        return {"seed": self._seed}  # the native generator does not pickle: a copy restarts the seed's stream

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["seed"])
