"""TPESampler, Optuna 5.1's arguments and defaults. The algorithm is written down in
csrc/hpo/tpe.h; the fit, the draws and the argmax are one native call (_core.hpo.tpe_propose)
per trial (multivariate) or per parameter. Here: the observation cache, the below/above split
(a few array operations) and Optuna's options."""
from __future__ import annotations

import json
import math
import threading
import warnings
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..._core import hpo as _native
from ..distributions import BaseDistribution, CategoricalDistribution
from ..logging import get_logger
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseSampler
from ._group_decomposed import GroupDecomposedSearchSpace
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace
from ._tpe_observations import Observations, column_key, internal_value

if TYPE_CHECKING:
    from ..study._study import Study

_logger = get_logger(__name__)
_RELATIVE_PARAMS_KEY = "tpe:relative_params"
_SYSTEM_ATTR_MAX_LENGTH = 2045  # RDB storages keep system attrs under 2046 characters
EPS = 1e-12
_INDEPENDENT_SAMPLING_WARNING = (
    "The parameter `{param_name}` in Trial#{trial_number} is sampled independently using `{independent}` instead of "
    "`{sampler}`, potentially degrading the optimization performance. This fallback happened because {reason}. You can "
    "suppress this warning by setting `warn_independent_sampling` to `False` in the constructor of `{sampler}` if this "
    "independent sampling is intended behavior.")


def default_gamma(x: int) -> int:
    return min(math.ceil(0.1 * x), 25)


def default_gamma_multiobjective(x: int) -> int:
    return math.ceil(0.1 * x)


def hyperopt_default_gamma(x: int) -> int:
    return min(math.ceil(0.25 * x**0.5), 25)


def default_weights(x: int) -> np.ndarray:
    if x == 0:
        return np.asarray([])
    if x < 25:
        return np.ones(x)
    return np.concatenate([np.linspace(1.0 / x, 1.0, num=x - 25), np.ones(25)], axis=0)


def _deprecated(name: str, value: Any, default: Any, d_ver: str, r_ver: str) -> Any:
    if value is None:
        return default
    warnings.warn(f"{name} has been deprecated in v{d_ver}. This feature will be removed in v{r_ver}. See "
                  f"https://github.com/optuna/optuna/releases/tag/v{d_ver}.", FutureWarning, stacklevel=3)
    return value


class TPESampler(BaseSampler):
    """Tree-structured Parzen estimator (Optuna's TPESampler, same arguments and defaults).

    Each trial after ``n_startup_trials``: split the trials into good ("below", gamma(n) of them)
    and the rest, fit a Parzen estimator l(x) to the good ones and g(x) to the rest, draw
    ``n_ei_candidates`` points from l and keep the one of largest log l(x) - log g(x).
    ``multivariate`` (default: True for one objective, False for several) models the joint
    search space; ``group`` splits it into the sub-spaces that trials share; ``constant_liar``
    counts running trials as bad so parallel workers spread out; constraints (``constraints_func``
    or ``trial.set_constraint``) rank feasible trials first.
    """

    def __init__(self, *, consider_prior: bool | None = None, prior_weight: float | None = None,
                 consider_magic_clip: bool | None = None, consider_endpoints: bool | None = None,
                 n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 gamma: Callable[[int], int] | None = None, weights: Callable[[int], np.ndarray] | None = None,
                 seed: int | None = None, multivariate: bool | None = None, group: bool = False,
                 warn_independent_sampling: bool | None = None, constant_liar: bool = True,
                 constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None) -> None:
        _deprecated("`consider_prior`", consider_prior, True, "4.3.0", "6.0.0")
        self._prior_weight = float(_deprecated("`prior_weight`", prior_weight, 1.0, "4.9.0", "6.0.0"))
        self._magic_clip = bool(_deprecated("`consider_magic_clip`", consider_magic_clip, True, "4.9.0", "6.0.0"))
        self._endpoints = bool(_deprecated("`consider_endpoints`", consider_endpoints, False, "4.9.0", "6.0.0"))
        self._gamma = _deprecated("`gamma`", gamma, None, "4.9.0", "6.0.0")
        self._weights = _deprecated("`weights`", weights, default_weights, "4.9.0", "6.0.0")
        self._warn_independent_sampling = bool(
            _deprecated("`warn_independent_sampling`", warn_independent_sampling, False, "4.9.0", "6.0.0"))
        if self._prior_weight < 0:
            raise ValueError(f"A non-negative value must be specified for prior_weight, but got {self._prior_weight}.")
        if n_ei_candidates < 1:
            raise ValueError(f"`n_ei_candidates` must be positive, but got {n_ei_candidates}.")
        self._n_startup_trials = n_startup_trials
        self._n_ei_candidates = n_ei_candidates
        self._seed = seed
        self._rng = _native.Rng(None if seed is None else _salted(seed))
        self._random_sampler = RandomSampler(seed=seed)
        self._multivariate = multivariate
        self._group = group
        self._constant_liar = constant_liar
        self._constraints_func = constraints_func
        self._search_space = IntersectionSearchSpace(include_pruned=True)
        self._group_decomposed_search_space: GroupDecomposedSearchSpace | None = None
        self._search_space_group: list[dict[str, BaseDistribution]] | None = None
        if group:
            if multivariate is False:
                raise ValueError("``group`` option can only be enabled when ``multivariate`` is enabled.")
            warnings.warn("Argument ``group`` is an experimental feature. The interface can change in the future.",
                          UserWarning, stacklevel=2)
            self._group_decomposed_search_space = GroupDecomposedSearchSpace(include_pruned=True)
        if constraints_func is not None:
            warnings.warn("`constraints_func` has been deprecated in v5.0.0. This feature will be removed in v7.0.0. "
                          "See https://github.com/optuna/optuna/releases/tag/v5.0.0. Use "
                          "`optuna.trial.Trial.set_constraint` instead.", FutureWarning, stacklevel=2)
        self._lock = threading.Lock()
        self._obs: Observations | None = None
        self._obs_study: int | None = None
        self._spaces: dict[tuple, Any] = {}  # search-space key -> native ParzenSpace

    # ---- Optuna's interface
    def reseed_rng(self) -> None:
        self._rng.reseed(None)
        self._random_sampler.reseed_rng()

    def _is_multivariate(self, study: "Study") -> bool:
        if self._multivariate is not None:
            return self._multivariate
        if self._group:
            if study._is_multi_objective():
                warnings.warn("``multivariate`` defaults to False for multi-objective optimization, but it is treated "
                              "as True because ``group`` can only be enabled with the multivariate TPE. Set "
                              "``multivariate=True`` explicitly to suppress this warning.", UserWarning)
            return True
        return not study._is_multi_objective()

    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if not self._is_multivariate(study):
            return {}
        if self._group:
            assert self._group_decomposed_search_space is not None
            self._search_space_group = self._group_decomposed_search_space.calculate(study)
            return {name: dist for sub in self._search_space_group for name, dist in sorted(sub.items())
                    if not dist.single()}
        return {name: dist for name, dist in self._search_space.calculate(study).items() if not dist.single()}

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if self._group:
            assert self._search_space_group is not None
            params: dict[str, Any] = {}
            for sub in self._search_space_group:
                space = {n: d for n, d in sorted(sub.items()) if not d.single() and n in search_space}
                params.update(self._sample_relative(study, trial, space))
        else:
            params = self._sample_relative(study, trial, search_space)
        if params and self._constant_liar:  # other workers read them to count this running trial as "above"
            text = json.dumps(params)
            for i in range(0, len(text), _SYSTEM_ATTR_MAX_LENGTH):
                study._storage.set_trial_system_attr(trial._trial_id,
                                                     f"{_RELATIVE_PARAMS_KEY}:{i // _SYSTEM_ATTR_MAX_LENGTH}",
                                                     text[i:i + _SYSTEM_ATTR_MAX_LENGTH])
        return params

    def _sample_relative(self, study: "Study", trial: FrozenTrial,
                         search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        with self._lock:
            obs, running = self._observe(study, trial)
            if obs.n < self._n_startup_trials:
                return {}
            return self._sample(study, obs, running, search_space)

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        with self._lock:
            obs, running = self._observe(study, trial)
            if obs.n >= self._n_startup_trials:
                if self._warn_independent_sampling and self._is_multivariate(study):
                    if obs.column(column_key(param_name, param_distribution)) is not None:
                        _logger.warning(_INDEPENDENT_SAMPLING_WARNING.format(
                            param_name=param_name, trial_number=trial.number, independent="RandomSampler",
                            sampler=type(self).__name__,
                            reason="`multivariate=True,group=False` does not support dynamic search space (but "
                                   "`multivariate=True,group=True` works)"))
                return self._sample(study, obs, running, {param_name: param_distribution})[param_name]
        return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        self._random_sampler.before_trial(study, trial)

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        if self._constraints_func is not None:
            _process_constraints_after_trial(self._constraints_func, study, trial, state)
        self._random_sampler.after_trial(study, trial, state, values)

    @staticmethod
    def hyperopt_parameters() -> dict[str, Any]:
        warnings.warn("hyperopt_parameters has been deprecated in v4.9.0. This feature will be removed in v6.0.0.",
                      FutureWarning, stacklevel=2)
        return {"consider_prior": True, "prior_weight": 1.0, "consider_magic_clip": True, "consider_endpoints": False,
                "n_startup_trials": 20, "n_ei_candidates": 24, "gamma": hyperopt_default_gamma,
                "weights": default_weights}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for k in ("_rng", "_lock", "_obs", "_obs_study", "_spaces"):
            state.pop(k)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._rng = _native.Rng(None if self._seed is None else _salted(self._seed))
        self._lock = threading.Lock()
        self._obs, self._obs_study, self._spaces = None, None, {}

    # ---- the proposal
    def _observe(self, study: "Study", trial: FrozenTrial) -> tuple[Observations, list[FrozenTrial]]:
        """The cache brought up to date, and the other running trials (constant_liar only)."""
        if self._obs is None or self._obs_study != study._study_id:
            self._obs, self._obs_study = Observations(study.directions), study._study_id
        running = self._obs.update(study._get_trials(deepcopy=False))
        if not self._constant_liar:
            return self._obs, []
        return self._obs, [t for t in running if t.number != trial.number]

    def _space(self, search_space: dict[str, BaseDistribution]) -> Any:
        key = tuple(search_space.items())
        space = self._spaces.get(key)
        if space is None:
            dists = list(search_space.values())
            cat = [isinstance(d, CategoricalDistribution) for d in dists]
            space = _native.ParzenSpace(
                cat, [len(d.choices) if c else 0 for d, c in zip(dists, cat)],
                [0.0 if c else float(d.low) for d, c in zip(dists, cat)],
                [0.0 if c else float(d.high) for d, c in zip(dists, cat)],
                [0.0 if c else float(d.step or 0.0) for d, c in zip(dists, cat)],
                [False if c else bool(d.log) for d, c in zip(dists, cat)])
            if len(self._spaces) > 1024:
                self._spaces.clear()
            self._spaces[key] = space
        return space

    def _sample(self, study: "Study", obs: Observations, running: list[FrozenTrial],
                search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        multi = study._is_multi_objective()
        gamma = self._gamma or (default_gamma_multiobjective if multi else default_gamma)
        below_mask = _split(obs, gamma(obs.n), multi)  # rows in trial-number order
        cols = [obs.column(column_key(n, d)) for n, d in search_space.items()]
        if any(c is None for c in cols):  # some parameter was never observed: no trial has them all
            X = np.empty((0, len(cols)))
            below, above = X, X
        else:
            X = obs.by_number(obs.X[:, cols])
            has_all = ~np.isnan(X).any(axis=1)
            below, above = X[below_mask & has_all], X[~below_mask & has_all]
        if running:
            above = self._with_running(study, obs, below_mask, above, running, search_space, cols)
        wb = np.ones(len(below)) if multi else self._weights_of(len(below))
        wa = self._weights_of(len(above))
        best, _ = _native.tpe_propose(self._space(search_space), below, wb, above, wa, self._prior_weight,
                                      self._magic_clip, self._endpoints, self._n_ei_candidates, self._rng)
        return {name: dist.to_external_repr(v) for (name, dist), v in zip(search_space.items(), best.tolist())}

    def _weights_of(self, n: int) -> np.ndarray | None:
        if self._weights is default_weights:
            return None  # computed natively
        w = np.asarray(self._weights(n), dtype=float)[:n]
        if np.any(w < 0):
            raise ValueError(f"The `weights` function is not allowed to return negative values {w}. The argument of "
                             f"the `weights` function is {n}.")
        if len(w) > 0 and np.sum(w) <= 0:
            raise ValueError(f"The `weight` function is not allowed to return all-zero values {w}. The argument of the "
                             f"`weights` function is {n}.")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"The `weights`function is not allowed to return infinite or NaN values {w}. The argument "
                             f"of the `weights` function is {n}.")
        if len(w) != n:
            raise ValueError(f"The `weights` function returned {len(w)} weights for {n} observations.")
        return w

    def _with_running(self, study: "Study", obs: Observations, below_mask: np.ndarray,
                      above: np.ndarray, running: list[FrozenTrial], search_space: dict[str, BaseDistribution],
                      cols: list[int | None]) -> np.ndarray:
        """The "above" rows with the running trials among them, all in trial-number order."""
        rows, numbers = [], []
        multivariate = self._is_multivariate(study)
        for t in running:
            params = _params_of(t) if multivariate else t.params
            if search_space.keys() <= params.keys():
                try:
                    rows.append([internal_value(d, params[n]) for n, d in search_space.items()])
                except ValueError:
                    continue
                numbers.append(t.number)
        if not rows:
            return above
        if any(c is None for c in cols):
            finished_numbers = np.empty(0, np.int64)
        else:
            X = obs.by_number(obs.X[:, cols])
            keep = ~below_mask & ~np.isnan(X).any(axis=1)
            finished_numbers = obs.by_number(obs.number)[keep]
        all_rows = np.concatenate([above, np.asarray(rows, dtype=float)])
        return all_rows[np.argsort(np.concatenate([finished_numbers, numbers]), kind="stable")]


def _salted(seed: int) -> int:
    """TPE's own stream for a seed (its random startup sampler uses the seed itself)."""
    return (int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF


def _params_of(t: FrozenTrial) -> dict[str, Any]:
    """A running trial's parameters, with those sampled jointly that it has not suggested yet."""
    chunks = []
    i = 0
    while (chunk := t.system_attrs.get(f"{_RELATIVE_PARAMS_KEY}:{i}")):
        chunks.append(chunk)
        i += 1
    if not chunks:
        return t.params
    try:
        params = json.loads("".join(chunks))
    except json.JSONDecodeError:  # another worker is still writing the chunks
        return t.params
    params.update(t.params)
    return params


def _split(obs: Observations, n_below: int, multi: bool) -> np.ndarray:
    """Optuna's _split_trials over the finished rows (in trial-number order): which are "below"."""
    below = np.zeros(obs.n, bool)
    violation = obs.by_number(obs.violation)
    pruned = obs.by_number(obs.pruned)
    infeasible = violation > 0
    feasible_complete = ~pruned & ~infeasible
    all_complete = feasible_complete.all()
    complete = None if all_complete else np.flatnonzero(feasible_complete)
    n_complete = obs.n if all_complete else len(complete)
    k = min(n_below, n_complete)
    if k > 0:
        loss = obs.by_number(obs.loss)
        if not all_complete:
            loss = loss[complete]
        chosen = _split_multi_objective(loss, k) if multi else _smallest_stable(loss[:, 0], k)
        below[chosen if all_complete else complete[chosen]] = True
    n_below = max(0, n_below - k)
    if n_below > 0:
        prn = np.flatnonzero(pruned & ~infeasible)
        if len(prn):
            rank = np.lexsort((obs.by_number(obs.step_value)[prn], -obs.by_number(obs.step)[prn]))
            below[prn[rank[:n_below]]] = True
            n_below = max(0, n_below - min(n_below, len(prn)))
    if n_below > 0:
        inf = np.flatnonzero(infeasible)
        if len(inf):
            below[inf[np.argsort(violation[inf], kind="stable")[:n_below]]] = True
    return below


def _smallest_stable(loss: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest values, ties to the lower index (a stable sort's first k), in O(n)."""
    if k >= len(loss):
        return np.arange(len(loss))
    threshold = np.partition(loss, k - 1)[k - 1]
    chosen = loss < threshold
    ties = np.flatnonzero(loss == threshold)[:k - int(chosen.sum())]
    chosen[ties] = True
    return np.flatnonzero(chosen)


def _split_multi_objective(lvals: np.ndarray, n_below: int) -> np.ndarray:
    """Indices of the n_below best rows of lvals [n, m] (minimised): whole Pareto ranks, then the
    rank that does not fit by greedy hypervolume subset selection."""
    if n_below >= len(lvals):
        return np.arange(len(lvals))
    ranks = _native.pareto_ranks(lvals, n_below)
    uniq, counts = np.unique(ranks, return_counts=True)
    last_full = int(np.max(uniq[np.cumsum(counts) <= n_below], initial=-1))
    chosen = np.flatnonzero(ranks <= last_full)
    if len(chosen) < n_below:
        tie = np.flatnonzero(ranks == last_full + 1)
        tie_vals = lvals[tie]
        worst = np.max(tie_vals, axis=0)
        ref = np.maximum(1.1 * worst, 0.9 * worst)
        ref[ref == 0] = EPS
        picked = _native.hypervolume_subset(tie_vals, n_below - len(chosen), ref)
        chosen = np.concatenate([chosen, tie[np.asarray(picked, dtype=np.int64)]])
    return chosen


def _process_constraints_after_trial(constraints_func: Callable[[FrozenTrial], Sequence[float]], study: "Study",
                                     trial: FrozenTrial, state: TrialState) -> None:
    if state not in (TrialState.COMPLETE, TrialState.PRUNED):
        return
    constraints = None
    try:
        con = constraints_func(trial)
        if np.any(np.isnan(con)):
            raise ValueError("Constraint values cannot be NaN.")
        if not isinstance(con, (tuple, list)):
            warnings.warn(f"Constraints should be a sequence of floats but got {type(con).__name__}.")
        constraints = [float(c) for c in con]
    finally:
        study._storage.set_trial_system_attr(trial._trial_id, "constraints", constraints)
