"""CMA-ES sampler (Optuna's ``CmaEsSampler``): the numerical parameters of the joint search space
are searched by the native CMA-ES of csrc/hpo/cmaes.h in [0, 1] coordinates (_transform.py);
categorical and other parameters go to the independent sampler.

Generations are kept in the trials, so several workers share them: each trial records its
generation (``cma:generation``; ``cma:restart_<k>:generation`` under IPOP), and the trial whose
sampling told the optimizer a full generation stores the optimizer state (``cma:optimizer:<i>``,
hex chunks of at most 2045 characters, as Optuna splits its pickle). The next trial restores the
state of the latest finished trial that has one; when a generation's population is complete it
tells the optimizer and, under ``restart_strategy="ipop"``, restarts with a popsize
``inc_popsize`` times larger once the optimizer's stop test fires.
"""
from __future__ import annotations

import math
import threading
import warnings
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..._core import hpo as _native
from ..distributions import BaseDistribution, FloatDistribution, IntDistribution
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
_SYSTEM_ATTR_MAX_LENGTH = 2045
_EPS = 1e-10


class _FinishedTrials:
    """The finished trials a sampler reads, kept incrementally: only trials that finished since
    the last call are looked at. Records each one's objective value (a pruned trial's last
    intermediate value when pruned trials count), its generation under each key and whether it
    stores an optimizer state."""

    def __init__(self, prefix: str, consider_pruned: bool) -> None:
        self._prefix, self._consider_pruned = prefix, consider_pruned
        self._study_id: int | None = None
        self.reset()

    def reset(self) -> None:
        self._unfinished: list[int] = []
        self._unseen = 0
        self.values: dict[int, float] = {}             # trial number -> value
        self.generations: dict[tuple[str, int], list[int]] = {}
        self.optimizer_trial = -1                      # latest finished trial holding a state

    def sync(self, study: "Study") -> list[FrozenTrial]:
        trials = study._get_trials(deepcopy=False)
        if self._study_id != study._study_id or len(trials) < self._unseen:
            self._study_id = study._study_id
            self.reset()
        unfinished = []
        for number in [*self._unfinished, *range(self._unseen, len(trials))]:
            t = trials[number]
            if not t.state.is_finished():
                unfinished.append(number)
                continue
            value = None
            if t.state == TrialState.COMPLETE:
                value = t.value
            elif t.state == TrialState.PRUNED and self._consider_pruned and t.intermediate_values:
                value = t.intermediate_values[max(t.intermediate_values)]
            if value is None:
                continue
            self.values[number] = float(value)
            for key, gen in t.system_attrs.items():
                if key.startswith(self._prefix) and key.endswith("generation"):
                    self.generations.setdefault((key, int(gen)), []).append(number)
            if f"{self._prefix}optimizer:0" in t.system_attrs:
                self.optimizer_trial = max(self.optimizer_trial, number)
        self._unfinished, self._unseen = unfinished, len(trials)
        return trials


class CmaEsSampler(BaseSampler):
    def __init__(self, *, x0: dict[str, Any] | None = None, sigma0: float | None = None, n_startup_trials: int = 1,
                 independent_sampler: BaseSampler | None = None, warn_independent_sampling: bool = True,
                 seed: int | None = None, consider_pruned_trials: bool = False, restart_strategy: str | None = None,
                 popsize: int | None = None, inc_popsize: int = -1, use_separable_cma: bool = False,
                 with_margin: bool = False, lr_adapt: bool = False,
                 source_trials: list[FrozenTrial] | None = None) -> None:
        if restart_strategy is not None or inc_popsize != -1:
            warn_deprecated("`restart_strategy`", "4.4.0", "6.0.0",
                            "Optuna falls back to `None`; aimass still runs the IPOP restarts.")
        if restart_strategy not in (None, "ipop"):
            raise ValueError(f"restart_strategy={restart_strategy!r} is unsupported. Please specify: 'ipop' or None.")
        if inc_popsize != -1 and inc_popsize < 1:
            raise ValueError(f"inc_popsize must be >= 1, got {inc_popsize}.")
        if popsize is not None and popsize < 2:
            raise ValueError(f"popsize must be >= 2, got {popsize}.")
        if x0 is not None:
            warn_deprecated("`x0`", "4.9.0", "6.0.0")
        if sigma0 is not None:
            warn_deprecated("`sigma0`", "4.9.0", "6.0.0")
            if not sigma0 > 0:
                raise ValueError(f"sigma0 must be positive, got {sigma0}.")
        if source_trials is not None and (x0 is not None or sigma0 is not None):
            raise ValueError("It is prohibited to pass `source_trials` argument when x0 or sigma0 is specified.")
        if source_trials is not None and use_separable_cma:
            raise ValueError("It is prohibited to pass `source_trials` argument when using separable CMA-ES.")
        if lr_adapt and (use_separable_cma or with_margin):
            raise ValueError("It is prohibited to pass `use_separable_cma` or `with_margin` argument when using "
                             "`lr_adapt`.")
        if use_separable_cma and with_margin:
            raise ValueError("Currently, we do not support `use_separable_cma=True` and `with_margin=True`.")
        for flag, name in ((consider_pruned_trials, "consider_pruned_trials"), (use_separable_cma, "use_separable_cma"),
                           (source_trials is not None, "source_trials"), (with_margin, "with_margin"),
                           (lr_adapt, "lr_adapt")):
            if flag:
                warn_experimental_argument(name)
        if with_margin:
            warnings.warn("aimass's CmaEsSampler has no CMA-ES with margin: `with_margin=True` samples integer and "
                          "stepped parameters by rounding, as `with_margin=False`.", UserWarning, stacklevel=2)
        self._x0, self._sigma0 = x0, sigma0
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._n_startup_trials = n_startup_trials
        self._warn_independent_sampling = warn_independent_sampling
        self._rng = np.random.RandomState(seed)
        self._search_space = IntersectionSearchSpace()
        self._consider_pruned_trials = consider_pruned_trials
        self._restart_strategy = restart_strategy
        self._popsize = popsize
        self._inc_popsize = 2 if inc_popsize == -1 else inc_popsize
        self._use_separable_cma = use_separable_cma
        self._with_margin = with_margin
        self._lr_adapt = lr_adapt
        self._source_trials = source_trials
        self._attr_prefix = "sepcma:" if use_separable_cma else "cmawm:" if with_margin else "cma:"
        self._finished = _FinishedTrials(self._attr_prefix, consider_pruned_trials)
        self._states: dict[int, bytes] = {}  # trial number -> optimizer state it stores (decoded once)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(self, study: "Study", trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {name: dist for name, dist in self._search_space.calculate(study).items()
                if not dist.single() and isinstance(dist, (FloatDistribution, IntDistribution))}

    def sample_relative(self, study: "Study", trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        with self._lock:  # n_jobs threads share the observation cache and the generator
            return self._sample_relative(study, trial, search_space)

    def _sample_relative(self, study: "Study", trial: FrozenTrial,
                         search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        self._raise_error_if_multi_objective(study)
        if not search_space:
            return {}
        trials = self._finished.sync(study)
        if len(self._finished.values) < self._n_startup_trials:
            return {}
        trans = UnitTransform(search_space)
        optimizer, n_restarts = self._restore(trials)
        if optimizer is None:
            optimizer, n_restarts = self._init_optimizer(trans, study.direction, self._popsize, False), 0
        if optimizer.dim != trans.dim:
            if self._warn_independent_sampling:
                _logger.warning(f"`CmaEsSampler` does not support dynamic search space. "
                                f"`{type(self._independent_sampler).__name__}` is used instead of `CmaEsSampler`.")
                self._warn_independent_sampling = False
            return {}

        gen_key = self._generation_key(n_restarts)
        solutions = sorted(self._finished.generations.get((gen_key, optimizer.generation), []))
        if len(solutions) >= optimizer.popsize:
            chosen = solutions[:optimizer.popsize]
            x = np.array([trans.transform(trials[n].params) for n in chosen])
            sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
            optimizer.tell(x, np.array([sign * self._finished.values[n] for n in chosen]))
            if self._restart_strategy == "ipop" and optimizer.should_stop():
                n_restarts += 1
                gen_key = self._generation_key(n_restarts)
                optimizer = self._init_optimizer(trans, study.direction, optimizer.popsize * self._inc_popsize, True)
            state = optimizer.state()
            self._states[trial.number] = state
            self._store(study, trial, state.hex(), n_restarts)

        seed = int(self._rng.randint(1, 2**16)) + trial.number
        x = optimizer.ask(seed)
        study._storage.set_trial_system_attr(trial._trial_id, gen_key, optimizer.generation)
        return trans.untransform(x)

    def _generation_key(self, n_restarts: int) -> str:
        if self._restart_strategy is None:
            return self._attr_prefix + "generation"
        return f"{self._attr_prefix}restart_{n_restarts}:generation"

    def _store(self, study: "Study", trial: FrozenTrial, state_hex: str, n_restarts: int) -> None:
        key = self._attr_prefix + "optimizer"
        for i in range(math.ceil(len(state_hex) / _SYSTEM_ATTR_MAX_LENGTH)):
            chunk = state_hex[i * _SYSTEM_ATTR_MAX_LENGTH:(i + 1) * _SYSTEM_ATTR_MAX_LENGTH]
            study._storage.set_trial_system_attr(trial._trial_id, f"{key}:{i}", chunk)
        study._storage.set_trial_system_attr(trial._trial_id, self._attr_prefix + "n_restarts", n_restarts)

    def _restore(self, trials: list[FrozenTrial]) -> tuple[Any, int]:
        number = self._finished.optimizer_trial
        if number < 0:
            return None, 0
        attrs = trials[number].system_attrs
        state = self._states.get(number)
        if state is None:
            key = self._attr_prefix + "optimizer"
            chunks = []
            while f"{key}:{len(chunks)}" in attrs:
                chunks.append(attrs[f"{key}:{len(chunks)}"])
            try:
                state = bytes.fromhex("".join(chunks))
            except ValueError:
                return None, 0
            self._states = {number: state}  # keep one: later trials restore from newer ones
        try:
            return _native.CmaEs.from_state(state), int(attrs.get(self._attr_prefix + "n_restarts", 0))
        except ValueError:  # a state aimass did not write (e.g. Optuna's pickle): start over
            return None, 0

    def _init_optimizer(self, trans: UnitTransform, direction: StudyDirection, popsize: int | None,
                        randomize_start: bool) -> Any:
        d = trans.dim
        lower, upper = np.zeros(d), np.ones(d)
        cov = None
        if self._source_trials is not None:
            states = (TrialState.COMPLETE,) + ((TrialState.PRUNED,) if self._consider_pruned_trials else ())
            sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
            names = set(trans.names)
            source = [t for t in self._source_trials if t.state in states and set(t.distributions) == names]
            if not source:
                raise ValueError("No compatible source_trials")
            mean, sigma0, cov = _native.cma_warm_start(np.array([trans.transform(t.params) for t in source]),
                                                       np.array([sign * t.value for t in source]))
            mean = np.clip(mean, 0.0, 1.0)
        else:
            if randomize_start:
                mean = self._rng.rand(d)
            elif self._x0 is not None:
                mean = trans.transform(self._x0)
            else:
                mean = np.full(d, 0.5)
            sigma0 = self._sigma0 if self._sigma0 is not None else 1.0 / 6.0
        sigma0 = max(float(sigma0), _EPS)
        separable = self._use_separable_cma
        if separable and d == 1:
            warnings.warn("Separable CMA-ES does not operate meaningfully on single-dimensional search spaces. The "
                          "setting `use_separable_cma=True` will be ignored.", UserWarning, stacklevel=3)
            separable = False
        return _native.CmaEs(mean, sigma0, lower, upper, popsize=popsize or 0, separable=separable,
                             lr_adapt=self._lr_adapt, n_max_resampling=10 * d, cov=cov)

    def sample_independent(self, study: "Study", trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        self._raise_error_if_multi_objective(study)
        if self._warn_independent_sampling:
            with self._lock:
                self._finished.sync(study)
                n_finished = len(self._finished.values)
            if n_finished >= self._n_startup_trials:
                _logger.warning(INDEPENDENT_SAMPLING_WARNING.format(
                    param_name=param_name, trial_number=trial.number,
                    independent_sampler_name=type(self._independent_sampler).__name__, sampler_name=type(self).__name__,
                    fallback_reason="dynamic search space and `CategoricalDistribution` are not supported by "
                                    "`CmaEsSampler`"))
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: "Study", trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(self, study: "Study", trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        if trial_constraints(trial):
            warnings.warn("Constraints have been set, but CmaEsSampler will not use them for optimization.",
                          UserWarning, stacklevel=2)
        self._independent_sampler.after_trial(study, trial, state, values)
