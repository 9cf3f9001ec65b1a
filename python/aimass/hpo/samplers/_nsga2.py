"""NSGA-II sampler (Optuna's ``NSGAIISampler``), its crossovers and strategies.

Generations live in the trials as Optuna keeps them: each trial records its generation
(``NSGAIISampler:generation``), a generation is full at ``population_size`` complete trials,
and the parents of generation g (the elites of generation g - 1 and its parents, csrc/hpo/nsga2.h:
non-dominated sorting, Deb's constrained domination, crowding distance) are cached once as trial
ids in the study's system attrs (``NSGAIISampler:parent:<g>``), so workers agree on them. A child
takes two parents by binary tournament, crosses their numerical parameters in [0, 1] coordinates
(_transform.py) with probability ``crossover_prob`` (else copies one parent), takes categorical
ones by uniform crossover, and mutates each parameter with probability ``mutation_prob``
(1 / number of parameters by default): by ``mutation`` (PolynomialMutation) when given, else it
is left to random sampling.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from ..._core import hpo as _native
from ..distributions import BaseDistribution, CategoricalDistribution
from ..study._direction import StudyDirection
from ..trial._frozen import FrozenTrial
from ..trial._state import TrialState
from ._base import BaseSampler
from ._constraints import trial_constraints
from ._messages import warn_deprecated, warn_experimental_argument
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace
from ._transform import UnitTransform

if TYPE_CHECKING:
    from ..study._study import Study

_CONSTRAINTS_KEY = "constraints"


def _seed(rng: np.random.RandomState) -> int:
    return int(rng.randint(0, 2**62))


# -- crossovers: parents_params [n_parents, d] in [0, 1] coordinates -> child [d] ------------------

class BaseCrossover:
    n_parents: int = 2

    def __str__(self) -> str:
        return type(self).__name__

    def crossover(self, parents_params: np.ndarray, rng: np.random.RandomState, study: "Study",
                  search_space_bounds: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class UniformCrossover(BaseCrossover):
    n_parents = 2

    def __init__(self, swapping_prob: float = 0.5) -> None:
        if not 0.0 <= swapping_prob <= 1.0:
            raise ValueError("`swapping_prob` must be a float value within the range [0.0, 1.0].")
        self._swapping_prob = swapping_prob

    def crossover(self, parents_params, rng, study, search_space_bounds):
        return _native.crossover_uniform(parents_params, self._swapping_prob, _seed(rng))


def _eta_of(eta: float | None, study: "Study") -> float:
    return eta if eta is not None else (20.0 if len(study.directions) > 1 else 2.0)


def _check_probs(uniform_crossover_prob: float, use_child_gene_prob: float) -> None:
    if not 0.0 <= uniform_crossover_prob <= 1.0:
        raise ValueError("`uniform_crossover_prob` must be a float value within the range [0.0, 1.0].")
    if not 0.0 < use_child_gene_prob <= 1.0:
        raise ValueError("`use_child_gene_prob` must be a float value within the range (0.0, 1.0].")


class SBXCrossover(BaseCrossover):
    n_parents = 2

    def __init__(self, eta: float | None = None, uniform_crossover_prob: float = 0.5,
                 use_child_gene_prob: float = 0.5) -> None:
        if eta is not None and eta < 0.0:
            raise ValueError("The value of `eta` must be greater than or equal to 0.0.")
        _check_probs(uniform_crossover_prob, use_child_gene_prob)
        self._eta, self._uniform, self._use_child = eta, uniform_crossover_prob, use_child_gene_prob

    def crossover(self, parents_params, rng, study, search_space_bounds):
        b = np.asarray(search_space_bounds, dtype=float)
        return _native.crossover_sbx(parents_params, b[:, 0], b[:, 1], _eta_of(self._eta, study), self._use_child,
                                     self._uniform, _seed(rng))


class VSBXCrossover(SBXCrossover):
    def crossover(self, parents_params, rng, study, search_space_bounds):
        return _native.crossover_vsbx(parents_params, _eta_of(self._eta, study), self._use_child, self._uniform,
                                      _seed(rng))


class BLXAlphaCrossover(BaseCrossover):
    n_parents = 2

    def __init__(self, alpha: float = 0.5) -> None:
        self._alpha = alpha

    def crossover(self, parents_params, rng, study, search_space_bounds):
        return _native.crossover_blx_alpha(parents_params, self._alpha, _seed(rng))


class SPXCrossover(BaseCrossover):
    n_parents = 3

    def __init__(self, epsilon: float | None = None) -> None:
        self._epsilon = epsilon

    def crossover(self, parents_params, rng, study, search_space_bounds):
        d = len(search_space_bounds)
        eps = np.sqrt(d + 2) if self._epsilon is None else self._epsilon
        return _native.crossover_spx(parents_params, float(eps), _seed(rng))


class UNDXCrossover(BaseCrossover):
    n_parents = 3

    def __init__(self, sigma_xi: float = 0.5, sigma_eta: float | None = None) -> None:
        self._sigma_xi, self._sigma_eta = sigma_xi, sigma_eta

    def crossover(self, parents_params, rng, study, search_space_bounds):
        d = len(search_space_bounds)
        eta = 0.35 / np.sqrt(d) if self._sigma_eta is None else self._sigma_eta
        return _native.crossover_undx(parents_params, self._sigma_xi, float(eta), _seed(rng))


# -- mutations: one numerical gene in [0, 1] coordinates ------------------------------------------

class BaseMutation:
    def __str__(self) -> str:
        return type(self).__name__

    def mutation(self, param: float, rng: np.random.RandomState, study: "Study",
                 search_space_bounds: np.ndarray) -> float:
        raise NotImplementedError


class PolynomialMutation(BaseMutation):
    def __init__(self, eta: float = 20.0) -> None:
        if eta < 0:
            raise ValueError("`eta` must be a non-negative float value.")
        self._eta = eta

    def mutation(self, param, rng, study, search_space_bounds):
        lb, ub = (float(b) for b in search_space_bounds)
        return _native.mutation_polynomial(float(param), lb, ub, self._eta, _seed(rng))


def _mutate(mutation: BaseMutation, rng: np.random.RandomState, study: "Study", name: str,
            dist: BaseDistribution, value: Any) -> Any:
    """The mutated value, or None (categorical: left to the random sampler)."""
    if isinstance(dist, CategoricalDistribution):
        return None
    trans = UnitTransform({name: dist})
    x = float(np.clip(mutation.mutation(float(trans.transform({name: value})[0]), rng, study, np.array([0.0, 1.0])),
                      0.0, 1.0))
    return trans.untransform(np.array([x]))[name]


# -- domination and penalties ---------------------------------------------------------------------

def _penalty(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Sum of positive constraint values per trial; NaN where a trial has none."""
    out = np.full(len(trials), np.nan)
    for i, t in enumerate(trials):
        c = trial_constraints(t)
        if c is not None:
            out[i] = float(np.sum(np.maximum(np.asarray(c, dtype=float), 0.0)))
    return out


def _is_constrained(trials: Sequence[FrozenTrial]) -> bool:
    return any(trial_constraints(t) is not None for t in trials)


def _signed_values(trials: Sequence[FrozenTrial], directions: Sequence[StudyDirection]) -> np.ndarray:
    sign = np.array([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in directions])
    return np.array([t.values for t in trials], dtype=float).reshape(len(trials), len(directions)) * sign


def _dominates(a: FrozenTrial, b: FrozenTrial, directions: Sequence[StudyDirection]) -> bool:
    va, vb = _signed_values([a, b], directions)
    return bool(np.all(va <= vb) and np.any(va < vb))


def _constrained_dominates(a: FrozenTrial, b: FrozenTrial, directions: Sequence[StudyDirection]) -> bool:
    ca, cb = trial_constraints(a), trial_constraints(b)
    if ca is None and cb is None:
        return _dominates(a, b, directions)
    if cb is None:
        return True
    if ca is None:
        return False
    fa, fb = all(c <= 0 for c in ca), all(c <= 0 for c in cb)
    if fa and fb:
        return _dominates(a, b, directions)
    if fa != fb:
        return fa
    return sum(max(c, 0.0) for c in ca) < sum(max(c, 0.0) for c in cb)


# -- strategies ---------------------------------------------------------------------------------

class NSGAIIElitePopulationSelectionStrategy:
    def __init__(self, *, population_size: int,
                 constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None) -> None:
        if population_size < 2:
            raise ValueError("`population_size` must be greater than or equal to 2.")
        self._population_size = population_size
        self._constraints_func = constraints_func

    def __call__(self, study: "Study", population: list[FrozenTrial]) -> list[FrozenTrial]:
        if not population:
            return []
        values = _signed_values(population, study.directions)
        penalty = _penalty(population) if _is_constrained(population) else None
        keep = _native.nsga2_select(values, penalty, min(self._population_size, len(population)))
        return [population[i] for i in keep]


class NSGAIIChildGenerationStrategy:
    def __init__(self, *, mutation_prob: float | None = None, crossover: BaseCrossover, crossover_prob: float,
                 swapping_prob: float, constraints_func: Callable | None = None, rng: np.random.RandomState,
                 mutation: Any = None) -> None:
        if not (mutation_prob is None or 0.0 <= mutation_prob <= 1.0):
            raise ValueError("`mutation_prob` must be None or a float value within the range [0.0, 1.0].")
        if not 0.0 <= crossover_prob <= 1.0:
            raise ValueError("`crossover_prob` must be a float value within the range [0.0, 1.0].")
        if not 0.0 <= swapping_prob <= 1.0:
            raise ValueError("`swapping_prob` must be a float value within the range [0.0, 1.0].")
        self._crossover_prob, self._mutation_prob, self._swapping_prob = crossover_prob, mutation_prob, swapping_prob
        self._crossover, self._constraints_func, self._rng, self._mutation = crossover, constraints_func, rng, mutation

    def __call__(self, study: "Study", search_space: dict[str, BaseDistribution],
                 parent_population: list[FrozenTrial]) -> dict[str, Any]:
        dominates = _constrained_dominates if _is_constrained(parent_population) else _dominates
        rng = self._rng
        if rng.rand() < self._crossover_prob:
            child = self._cross(study, search_space, parent_population, dominates)
        else:
            parent = parent_population[rng.choice(len(parent_population))].params
            child = {name: parent[name] for name in search_space}
        mutation_prob = 1.0 / max(1.0, len(child)) if self._mutation_prob is None else self._mutation_prob
        # a parameter left out is "mutated": the random sampler draws it in sample_independent
        params = {}
        for name, value in child.items():
            if rng.rand() >= mutation_prob:
                params[name] = value
            elif self._mutation is not None:
                mutated = _mutate(self._mutation, rng, study, name, search_space[name], value)
                if mutated is not None:
                    params[name] = mutated
        return params

    def _cross(self, study, search_space, population, dominates) -> dict[str, Any]:
        numerical = {n: d for n, d in search_space.items() if not isinstance(d, CategoricalDistribution)}
        categorical = [n for n, d in search_space.items() if isinstance(d, CategoricalDistribution)]
        parents: list[FrozenTrial] = []
        chosen: set[int] = set()  # indices into population; a parent is not drawn twice
        for _ in range(self._crossover.n_parents):
            pool = [i for i in range(len(population)) if i not in chosen] or list(range(len(population)))
            a, b = pool[self._rng.choice(len(pool))], pool[self._rng.choice(len(pool))]
            pick = a if dominates(population[a], population[b], study.directions) else b
            chosen.add(pick)
            parents.append(population[pick])
        child: dict[str, Any] = {}
        for name in categorical:
            child[name] = (parents[-1] if self._rng.rand() < self._swapping_prob else parents[0]).params[name]
        if numerical:
            trans = UnitTransform(numerical)
            x = np.stack([trans.transform(p.params) for p in parents])
            bounds = np.tile([0.0, 1.0], (trans.dim, 1))
            child.update(trans.untransform(np.asarray(self._crossover.crossover(x, self._rng, study, bounds))))
        return child


class NSGAIIAfterTrialStrategy:
    def __init__(self, *, constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None) -> None:
        self._constraints_func = constraints_func

    def __call__(self, study: "Study", frozen_trial: FrozenTrial, state: TrialState,
                 values: Sequence[float] | None = None) -> None:
        if self._constraints_func is None or state not in (TrialState.COMPLETE, TrialState.PRUNED):
            return
        constraints = [float(c) for c in self._constraints_func(frozen_trial)]
        if any(np.isnan(c) for c in constraints):
            raise ValueError("Constraint values cannot be NaN.")
        study._storage.set_trial_system_attr(frozen_trial._trial_id, _CONSTRAINTS_KEY, constraints)


# -- the sampler -------------------------------------------------------------------------------

class BaseGASampler(BaseSampler):
    """Generations and their cached parents, as Optuna's ``BaseGASampler``."""

    _GENERATION_KEY = "BaseGASampler:generation"
    _PARENT_CACHE_KEY_PREFIX = "BaseGASampler:parent:"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._GENERATION_KEY = f"{cls.__name__}:generation"
        cls._PARENT_CACHE_KEY_PREFIX = f"{cls.__name__}:parent:"

    def __init__(self, population_size: int | None) -> None:
        self._population_size = population_size
        self._lock = threading.Lock()
        self._reset_cache(None)
        self._parents_study_id: int | None = None
        self._parents: dict[int, list[FrozenTrial]] = {}  # generation -> its parent population

    def _reset_cache(self, study_id: int | None) -> None:
        self._cached_study_id = study_id
        self._cached_generation = 0
        self._cached_numbers: list[int] = []     # complete trials of the latest generation
        self._unfinished: list[int] = []
        self._unseen = 0

    @property
    def population_size(self) -> int | None:
        return self._population_size

    @population_size.setter
    def population_size(self, value: int) -> None:
        self._population_size = value

    def select_parent(self, study: "Study", generation: int) -> list[FrozenTrial]:
        raise NotImplementedError

    def _sync(self, study: "Study") -> list[FrozenTrial]:
        with self._lock:
            trials = study._get_trials(deepcopy=False)
            if self._cached_study_id != study._study_id or len(trials) < self._unseen:
                self._reset_cache(study._study_id)
            unfinished = []
            for number in [*self._unfinished, *range(self._unseen, len(trials))]:
                t = trials[number]
                if t.state == TrialState.COMPLETE:
                    gen = t.system_attrs.get(self._GENERATION_KEY)
                    if gen is None:
                        continue
                    if gen > self._cached_generation:
                        self._cached_generation, self._cached_numbers = gen, [number]
                    elif gen == self._cached_generation:
                        self._cached_numbers.append(number)
                elif not t.state.is_finished():
                    unfinished.append(number)
            self._unfinished, self._unseen = unfinished, len(trials)
            return trials

    def get_trial_generation(self, study: "Study", trial: FrozenTrial) -> int:
        generation = trial.system_attrs.get(self._GENERATION_KEY)
        if generation is not None:
            return generation
        self._sync(study)
        generation = self._cached_generation
        if len(self._cached_numbers) >= self._population_size:
            generation += 1
        study._storage.set_trial_system_attr(trial._trial_id, self._GENERATION_KEY, generation)
        return generation

    def get_population(self, study: "Study", generation: int) -> list[FrozenTrial]:
        trials = self._sync(study)
        if generation == self._cached_generation:
            return [trials[n] for n in sorted(self._cached_numbers)]
        return [t for t in trials if t.state == TrialState.COMPLETE
                and t.system_attrs.get(self._GENERATION_KEY) == generation]

    def get_parent_population(self, study: "Study", generation: int) -> list[FrozenTrial]:
        if generation == 0:
            return []
        with self._lock:
            if self._parents_study_id != study._study_id:
                self._parents_study_id, self._parents = study._study_id, {}
            if generation in self._parents:  # finished trials do not change: read them once
                return self._parents[generation]
        key = self._PARENT_CACHE_KEY_PREFIX + str(generation)
        cached = study._storage.get_study_system_attrs(study._study_id).get(key)
        if cached is not None:
            ids = set(cached)
            parents = [t for t in study._get_trials(deepcopy=False) if t._trial_id in ids]
        else:
            parents = self.select_parent(study, generation)
            study._storage.set_study_system_attr(study._study_id, key, [t._trial_id for t in parents])
        with self._lock:
            self._parents[generation] = parents
        return parents


class NSGAIISampler(BaseGASampler):
    def __init__(self, *, population_size: int = 50, mutation: Any = None, mutation_prob: float | None = None,
                 crossover: BaseCrossover | None = None, crossover_prob: float = 0.9, swapping_prob: float = 0.5,
                 seed: int | None = None, constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
                 elite_population_selection_strategy: Callable | None = None,
                 child_generation_strategy: Callable | None = None,
                 after_trial_strategy: Callable | None = None) -> None:
        if population_size < 2:
            raise ValueError("`population_size` must be greater than or equal to 2.")
        if constraints_func is not None:
            warn_deprecated("`constraints_func`", "5.0.0", "7.0.0", "Use `optuna.trial.Trial.set_constraint` instead.")
        if mutation is not None and not isinstance(mutation, BaseMutation):
            raise ValueError(f"'{mutation}' is not a valid mutation. For valid mutations see "
                             "https://optuna.readthedocs.io/en/stable/reference/samplers.html.")
        for strategy, name in ((after_trial_strategy, "after_trial_strategy"),
                               (child_generation_strategy, "child_generation_strategy"),
                               (elite_population_selection_strategy, "elite_population_selection_strategy")):
            if strategy is not None:
                warn_experimental_argument(name)
        if crossover is None:
            crossover = UniformCrossover(swapping_prob)
        if not isinstance(crossover, BaseCrossover):
            raise ValueError(f"'{crossover}' is not a valid crossover. For valid crossovers see "
                             "https://optuna.readthedocs.io/en/stable/reference/samplers.html.")
        if population_size < crossover.n_parents:
            raise ValueError(f"Using {crossover}, the population size should be greater than or equal to "
                             f"{crossover.n_parents}. The specified `population_size` is {population_size}.")
        super().__init__(population_size=population_size)
        self._random_sampler = RandomSampler(seed=seed)
        self._rng = np.random.RandomState(seed)
        self._constraints_func = constraints_func
        self._search_space = IntersectionSearchSpace()
        self._elite_population_selection_strategy = elite_population_selection_strategy or \
            NSGAIIElitePopulationSelectionStrategy(population_size=population_size, constraints_func=constraints_func)
        self._child_generation_strategy = child_generation_strategy or NSGAIIChildGenerationStrategy(
            crossover_prob=crossover_prob, mutation_prob=mutation_prob, swapping_prob=swapping_prob,
            crossover=crossover, constraints_func=constraints_func, rng=self._rng, mutation=mutation)
        self._after_trial_strategy = after_trial_strategy or NSGAIIAfterTrialStrategy(constraints_func=constraints_func)

    def reseed_rng(self) -> None:
        self._random_sampler.reseed_rng()
        self._rng.seed()

    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {n: d for n, d in self._search_space.calculate(study).items() if not d.single()}

    def select_parent(self, study: "Study", generation: int) -> list[FrozenTrial]:
        return self._elite_population_selection_strategy(
            study, self.get_population(study, generation - 1) + self.get_parent_population(study, generation - 1))

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        generation = self.get_trial_generation(study, trial)
        parents = self.get_parent_population(study, generation)
        if not parents:
            return {}
        return self._child_generation_strategy(study, search_space, parents)

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self._random_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        self._random_sampler.before_trial(study, trial)

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        assert state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
        self._after_trial_strategy(study, trial, state, values)
        self._random_sampler.after_trial(study, trial, state, values)
