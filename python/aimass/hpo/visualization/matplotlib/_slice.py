"""plot_slice: the target against each parameter, one panel per parameter."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ._utils import (check_target, complete_trials, is_log, param_column, param_distribution, plot_params, pyplot,
                     style, target_values)


def plot_slice(study: Study, params: list[str] | None = None, *, target: Callable[[FrozenTrial], float] | None = None,
               target_name: str = "Objective Value") -> Any:
    """One scatter per parameter of (parameter value, target) over the COMPLETE trials that have it,
    coloured by trial number; log parameters on a log axis, categoricals by their choices. One
    parameter: an Axes; several: a 1-d array of Axes."""
    check_target(study, target, target_name)
    plt = pyplot()
    trials = complete_trials(study)
    names = plot_params(study, trials, params)
    values = target_values(trials, target)
    numbers = np.asarray([t.number for t in trials])
    with style():
        if len(names) <= 1:
            _, ax = plt.subplots()
            ax.set_title("Slice Plot")
            axes = [ax]
        else:
            fig, axs = plt.subplots(1, len(names), sharey=True, figsize=(min(5.0, 20.0 / len(names)) * len(names), 4))
            fig.suptitle("Slice Plot")
            axes = list(np.atleast_1d(axs))
        for ax, name in zip(axes, names):
            col, has, cats = param_column(trials, name)
            sc = ax.scatter(col[has], values[has], c=numbers[has], cmap="Blues", edgecolors="grey")
            ax.set(xlabel=name, ylabel=target_name)
            if cats is not None:
                ax.set_xticks(range(len(cats)))
                ax.set_xticklabels(cats)
            elif is_log(param_distribution(trials, name)):
                ax.set_xscale("log")
        if trials and names:
            axes[0].figure.colorbar(sc, ax=axes, label="Trial")
    return axes[0] if len(names) <= 1 else np.asarray(axes, dtype=object)
