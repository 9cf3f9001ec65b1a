"""Gaussian-process sampler (Optuna's ``GPSampler``): after ``n_startup_trials`` random trials,
each trial fits the native Matern-5/2 GP of csrc/hpo/gp.h to the complete trials (parameters in
[0, 1] coordinates, _transform.py; values standardised, maximised) and takes the point that
maximises log expected improvement over the best value, found by 2048 random candidates and
local search from the best few and from the best trial. With constraints (``Trial.set_constraint``
or ``constraints_func``) one GP per constraint adds log P(feasible) and the improvement is over
the best feasible trial. Observations are kept incrementally (only newly finished trials are
read); kernel parameters warm-start from the previous fit, as Optuna's do.

Trials still running (other threads or processes) count as observed at the GP's posterior mean
of the parameters they were given (shared as ``gp:relative_params``), so parallel workers do
not propose the same point. Differences from Optuna 5.1: several objectives use a random
augmented-Chebyshev scalarisation per trial (ParEGO) instead of log EHVI, and running trials are
fixed at the posterior mean ("kriging believer") rather than sampled fantasies.
"""
from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..._core import hpo as _native
from ..distributions import BaseDistribution
from ..logging import get_logger
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseSampler
from ._constraints import trial_constraints
from ._messages import INDEPENDENT_SAMPLING_WARNING, warn_deprecated, warn_experimental_argument
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace
from ._transform import UnitTransform

if TYPE_CHECKING:
    from ..study._study import Study

_logger = get_logger(__name__)
_EPS = 1e-10
_MINIMUM_NOISE_VAR = 1e-6
_RELATIVE_PARAMS_KEY = "gp:relative_params"
_SYSTEM_ATTR_MAX_LENGTH = 2045


def _standardize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns to zero mean and unit deviation; infinities clipped to the finite range first."""
    values = np.array(values, dtype=float)
    for j in range(values.shape[1]):
        col, finite = values[:, j], np.isfinite(values[:, j])
        if not finite.all():
            lo, hi = (col[finite].min(), col[finite].max()) if finite.any() else (0.0, 0.0)
            values[:, j] = np.clip(col, lo, hi)
    mean, std = values.mean(axis=0), values.std(axis=0)
    return (values - mean) / np.maximum(_EPS, std), mean, std


class _Observations:
    """Complete trials' normalised parameters X [n, d], values [n, m] and constraints [n, c],
    appended as trials finish; rebuilt only when the search space changes."""

    def __init__(self) -> None:
        self.reset(None, None)

    def reset(self, study_id: int | None, space: dict[str, BaseDistribution] | None) -> None:
        self._study_id, self._space = study_id, space
        self._unfinished: list[int] = []
        self._unseen = 0
        self.rows: list[np.ndarray] = []
        self.values: list[Sequence[float]] = []
        self.constraints: list[Sequence[float] | None] = []

    def running(self, study: "Study", space: dict[str, BaseDistribution], trans: UnitTransform,
                exclude: int) -> np.ndarray:
        """X [r, d] of the running trials (but `exclude`) whose relative parameters are known."""
        trials = study._get_trials(deepcopy=False)
        rows = []
        for number in self._unfinished:
            t = trials[number]
            if t.number == exclude or t.state != TrialState.RUNNING:
                continue
            params = _relative_params(t)
            if params is not None and all(name in params for name in space):
                rows.append(trans.transform(params))
        return np.array(rows).reshape(len(rows), trans.dim)

    def sync(self, study: "Study", space: dict[str, BaseDistribution], trans: UnitTransform) -> None:
        trials = study._get_trials(deepcopy=False)
        if self._study_id != study._study_id or self._space != space or len(trials) < self._unseen:
            self.reset(study._study_id, dict(space))
        unfinished = []
        for number in [*self._unfinished, *range(self._unseen, len(trials))]:
            t = trials[number]
            if t.state == TrialState.COMPLETE:
                if all(name in t.params for name in space):
                    self.rows.append(trans.transform(t.params))
                    self.values.append(t.values)
                    self.constraints.append(trial_constraints(t))
            elif not t.state.is_finished():
                unfinished.append(number)
        self._unfinished, self._unseen = unfinished, len(trials)


class GPSampler(BaseSampler):
    def __init__(self, *, seed: int | None = None, independent_sampler: BaseSampler | None = None,
                 n_startup_trials: int = 10, deterministic_objective: bool = False,
                 constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
                 warn_independent_sampling: bool = True) -> None:
        if constraints_func is not None:
            warn_deprecated("`constraints_func`", "5.0.0", "7.0.0", "Use `optuna.trial.Trial.set_constraint` instead.")
        if deterministic_objective:
            warn_experimental_argument("deterministic_objective")
        self._rng = np.random.RandomState(seed)
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._intersection_search_space = IntersectionSearchSpace()
        self._n_startup_trials = n_startup_trials
        self._deterministic = deterministic_objective
        self._constraints_func = constraints_func
        self._warn_independent_sampling = warn_independent_sampling
        self._n_preliminary_samples = 2048
        self._n_local_search = 10
        self._tol = 1e-4
        self._obs = _Observations()
        self._kernel_cache: list[tuple[np.ndarray, float, float]] = []  # warm starts: objective, constraints
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {n: d for n, d in self._intersection_search_space.calculate(study).items() if not d.single()}

    def _fit(self, X: np.ndarray, is_cat: np.ndarray, y: np.ndarray, slot: int, deterministic: bool) -> Any:
        init = self._kernel_cache[slot] if slot < len(self._kernel_cache) else None
        if init is not None and len(init[0]) != X.shape[1]:
            init = None
        isl, scale, noise = _native.gp_fit(X, is_cat, y, None if init is None else init[0],
                                           1.0 if init is None else init[1], 1.0 if init is None else init[2],
                                           minimum_noise=_MINIMUM_NOISE_VAR, deterministic_objective=deterministic)
        while len(self._kernel_cache) <= slot:
            self._kernel_cache.append((isl, scale, noise))
        self._kernel_cache[slot] = (isl, scale, noise)
        return _native.GaussianProcess(X, is_cat, y, isl, scale, noise)

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        with self._lock:  # n_jobs threads share the observation cache and the generator
            return self._sample_relative(study, trial, search_space)

    def _sample_relative(self, study: "Study", trial: FrozenTrial,
                         search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        trans = UnitTransform(search_space)
        self._obs.sync(study, search_space, trans)
        n = len(self._obs.rows)
        if n < self._n_startup_trials or n == 0:
            return {}
        X = np.array(self._obs.rows)
        sign = np.array([-1.0 if d == StudyDirection.MINIMIZE else 1.0 for d in study.directions])
        scores, _, _ = _standardize(sign * np.array(self._obs.values, dtype=float))
        if scores.shape[1] > 1:  # ParEGO: a random augmented Chebyshev scalarisation per trial
            w = self._rng.dirichlet(np.ones(scores.shape[1]))
            u = (scores - scores.min(axis=0)) / np.maximum(np.ptp(scores, axis=0), _EPS)
            scores, _, _ = _standardize((np.min(w * u, axis=1) + 0.05 * np.sum(w * u, axis=1))[:, None])
        y = scores[:, 0]
        is_cat = trans.is_categorical
        gp = self._fit(X, is_cat, y, 0, self._deterministic)

        feasible = np.ones(n, dtype=bool)
        constraint_gps, thresholds, constraint_ys = [], [], []
        if any(c is not None for c in self._obs.constraints):
            if any(c is None for c in self._obs.constraints):
                raise ValueError("Constraint values are missing for some complete trials; set them for every trial.")
            cons = np.array(self._obs.constraints, dtype=float)
            feasible = np.all(cons <= 0, axis=1)
            std_cons, mean, std = _standardize(cons)
            for j in range(cons.shape[1]):
                constraint_gps.append(self._fit(X, is_cat, std_cons[:, j], 1 + j, False))
                constraint_ys.append(std_cons[:, j])
                thresholds.append(float(-mean[j] / max(_EPS, std[j])))
        threshold = float(y[feasible].max()) if feasible.any() else -np.inf
        starts = X[feasible][[int(np.argmax(y[feasible]))]] if feasible.any() else np.empty((0, trans.dim))
        X_run = self._obs.running(study, search_space, trans, trial.number)
        if len(X_run):  # kriging believer: running trials observed at the posterior mean
            gp = _believe(gp, X, y, X_run, is_cat)
            constraint_gps = [_believe(c, X, c_y, X_run, is_cat) for c, c_y in zip(constraint_gps, constraint_ys)]
        choices = [trans.grid(i) for i in range(trans.dim)]
        x, _ = _native.gp_optimize_acquisition(gp, threshold, constraint_gps, thresholds, choices, starts,
                                               int(self._rng.randint(0, 2**62)), self._n_preliminary_samples,
                                               self._n_local_search, self._tol)
        params = trans.untransform(x)
        text = json.dumps(params)  # for the other workers' kriging believer
        for i in range(0, len(text), _SYSTEM_ATTR_MAX_LENGTH):
            key = f"{_RELATIVE_PARAMS_KEY}:{i // _SYSTEM_ATTR_MAX_LENGTH}"
            study._storage.set_trial_system_attr(trial._trial_id, key, text[i:i + _SYSTEM_ATTR_MAX_LENGTH])
        return params

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        if self._warn_independent_sampling:
            n_complete = len(study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
            if n_complete >= self._n_startup_trials:
                _logger.warning(INDEPENDENT_SAMPLING_WARNING.format(
                    param_name=param_name, trial_number=trial.number,
                    independent_sampler_name=type(self._independent_sampler).__name__, sampler_name=type(self).__name__,
                    fallback_reason="dynamic search space is not supported by `GPSampler`"))
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        if self._constraints_func is not None and state in (TrialState.COMPLETE, TrialState.PRUNED):
            constraints = [float(c) for c in self._constraints_func(trial)]
            if any(np.isnan(c) for c in constraints):
                raise ValueError("Constraint values cannot be NaN.")
            study._storage.set_trial_system_attr(trial._trial_id, "constraints", constraints)
        self._independent_sampler.after_trial(study, trial, state, values)


def _relative_params(trial: FrozenTrial) -> dict[str, Any] | None:
    chunks, i = [], 0
    while (chunk := trial.system_attrs.get(f"{_RELATIVE_PARAMS_KEY}:{i}")) is not None:
        chunks.append(chunk)
        i += 1
    if not chunks:
        return None
    params = json.loads("".join(chunks))
    params.update(trial.params)
    return params


def _believe(gp: Any, X: np.ndarray, y: np.ndarray, X_run: np.ndarray, is_cat: np.ndarray) -> Any:
    """The GP with the running points added at its posterior mean (same kernel parameters)."""
    mean, _ = gp.posterior(X_run)
    return _native.GaussianProcess(np.vstack([X, X_run]), is_cat, np.concatenate([y, mean]),
                                   gp.inverse_squared_lengthscales, gp.kernel_scale, gp.noise_var)
