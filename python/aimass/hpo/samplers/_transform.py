"""The [0, 1] coordinates the CMA-ES, GP and NSGA-II samplers search in (Optuna's
``_SearchSpaceTransform(transform_0_1=True)`` and ``_gp.search_space`` normalisation).

A numerical parameter maps to (v - lo) / (hi - lo) where v is the value (its log for log=True)
and [lo, hi] the range widened by half a step on each side for int and stepped parameters, so
every grid point owns an equal share of [0, 1]. Going back rounds to the grid and clips. A
categorical parameter is its choice index (``categorical="index"``) and only the GP takes it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


class UnitTransform:
    def __init__(self, search_space: dict[str, BaseDistribution]) -> None:
        self.names = list(search_space)
        self.dists = list(search_space.values())
        d = len(self.dists)
        self.is_categorical = np.zeros(d, dtype=bool)
        self._lo = np.zeros(d)
        self._hi = np.ones(d)
        self._log = np.zeros(d, dtype=bool)
        for i, dist in enumerate(self.dists):
            if isinstance(dist, CategoricalDistribution):
                self.is_categorical[i] = True
                continue
            step = 1.0 if isinstance(dist, IntDistribution) and dist.log else (dist.step or 0.0)
            lo, hi = dist.low - 0.5 * step, dist.high + 0.5 * step
            if dist.log:
                lo, hi = math.log(lo), math.log(hi)
                self._log[i] = True
            self._lo[i], self._hi[i] = lo, hi

    @property
    def dim(self) -> int:
        return len(self.dists)

    def transform(self, params: dict[str, Any]) -> np.ndarray:
        """External parameter values -> x [d]."""
        x = np.empty(self.dim)
        for i, (name, dist) in enumerate(zip(self.names, self.dists)):
            v = params[name]
            if self.is_categorical[i]:
                x[i] = dist.to_internal_repr(v)
                continue
            x[i] = self._unit(i, v)
        return x

    def untransform(self, x: np.ndarray) -> dict[str, Any]:
        """x [d] -> external values on the parameters' grids and within their ranges."""
        out: dict[str, Any] = {}
        for i, (name, dist) in enumerate(zip(self.names, self.dists)):
            if self.is_categorical[i]:
                k = min(max(int(round(float(x[i]))), 0), len(dist.choices) - 1)
                out[name] = dist.choices[k]
                continue
            v = self._lo[i] + float(x[i]) * (self._hi[i] - self._lo[i])
            if self._log[i]:
                v = math.exp(v)
            if isinstance(dist, IntDistribution):
                v = int(round(v)) if dist.log else dist.low + int(round((v - dist.low) / dist.step)) * dist.step
                out[name] = int(min(max(v, dist.low), dist.high))
            else:
                assert isinstance(dist, FloatDistribution)
                if dist.step is not None:
                    v = dist.low + round((v - dist.low) / dist.step) * dist.step
                out[name] = float(min(max(v, dist.low), dist.high))
        return out

    def grid(self, i: int, max_choices: int = 32) -> list[float]:
        """The normalised values parameter i may take, or [] when it is continuous or has more
        than max_choices of them (then it is searched as continuous and rounded)."""
        dist = self.dists[i]
        if self.is_categorical[i]:
            return [float(k) for k in range(len(dist.choices))]
        step = getattr(dist, "step", None)
        if isinstance(dist, IntDistribution) and dist.log:
            n = dist.high - dist.low + 1
            if n > max_choices:
                return []
            return [self._unit(i, v) for v in range(dist.low, dist.high + 1)]
        if step is None:
            return []
        n = int(round((dist.high - dist.low) / step)) + 1
        if n > max_choices:
            return []
        return [self._unit(i, dist.low + k * step) for k in range(n)]

    def _unit(self, i: int, v: float) -> float:
        v = math.log(v) if self._log[i] else float(v)
        width = self._hi[i] - self._lo[i]
        return 0.5 if width == 0 else (v - self._lo[i]) / width
