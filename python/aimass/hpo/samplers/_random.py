from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from ._base import BaseSampler


class RandomSampler(BaseSampler):
    """Each parameter independently and uniformly (log-uniformly for log=True) from its range."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()

    def sample_independent(self, study: Any, trial: Any, param_name: str, dist: BaseDistribution) -> Any:
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[int(self._rng.integers(len(dist.choices)))]
        if isinstance(dist, IntDistribution):
            if dist.log:
                lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
                v = int(round(math.exp(self._rng.uniform(lo, hi))))
                return min(max(v, dist.low), dist.high)
            k = int(self._rng.integers((dist.high - dist.low) // dist.step + 1))
            return dist.low + k * dist.step
        assert isinstance(dist, FloatDistribution)
        if dist.log:
            return float(math.exp(self._rng.uniform(math.log(dist.low), math.log(dist.high))))
        if dist.step is not None:
            k = int(self._rng.integers(int(round((dist.high - dist.low) / dist.step)) + 1))
            return float(min(dist.low + k * dist.step, dist.high))
        return float(self._rng.uniform(dist.low, dist.high))
