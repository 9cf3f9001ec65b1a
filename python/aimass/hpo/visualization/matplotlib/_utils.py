"""What every plot needs: matplotlib, the COMPLETE trials, their target values, parameter columns."""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from ...distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ...trial._state import TrialState


def is_available() -> bool:
    """Whether matplotlib can be imported (the plots need it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError("am.hpo.visualization needs matplotlib: pip install matplotlib") from e
    return plt


def style() -> Any:
    """Optuna's plots use the ggplot style sheet; here only inside the plot (no global change)."""
    return pyplot().style.context("ggplot")


def check_target(study: Study, target: Callable[[FrozenTrial], float] | None, target_name: str) -> None:
    if target is None and study._is_multi_objective():
        raise ValueError("If the `study` is being used for multi-objective optimization, please specify the "
                         "`target`.")


def complete_trials(study: Study) -> list[FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not trials:
        warnings.warn("Study instance does not contain completed trials.", UserWarning, stacklevel=3)
    return trials


def target_values(trials: list[FrozenTrial], target: Callable[[FrozenTrial], float] | None) -> np.ndarray:
    return np.asarray([float(target(t)) if target is not None else float(t.value) for t in trials], dtype=float)


def plot_params(study: Study, trials: list[FrozenTrial], params: list[str] | None) -> list[str]:
    """The parameters to draw: params (each must appear in some trial), else all, sorted."""
    names = sorted({p for t in trials for p in t.params})
    if params is None:
        return names
    for p in params:
        if p not in names:
            raise ValueError(f"Parameter {p} does not exist in your study.")
    return list(params)


def param_distribution(trials: list[FrozenTrial], name: str) -> BaseDistribution:
    for t in trials:
        if name in t.distributions:
            return t.distributions[name]
    raise ValueError(f"Parameter {name} does not exist in your study.")


def is_log(dist: BaseDistribution) -> bool:
    return isinstance(dist, (FloatDistribution, IntDistribution)) and dist.log


def is_categorical(dist: BaseDistribution) -> bool:
    return isinstance(dist, CategoricalDistribution)


def param_column(trials: list[FrozenTrial], name: str) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(values, which trials have the parameter, category labels or None): categoricals become the
    choice's index, so that they can share an axis with numbers."""
    dist = param_distribution(trials, name)
    has = np.asarray([name in t.params for t in trials], dtype=bool)
    if is_categorical(dist):
        labels = [str(c) for c in dist.choices]
        values = [float(dist.to_internal_repr(t.params[name])) if name in t.params else math.nan for t in trials]
        return np.asarray(values), has, labels
    values = [float(t.params[name]) if name in t.params else math.nan for t in trials]
    return np.asarray(values), has, None
