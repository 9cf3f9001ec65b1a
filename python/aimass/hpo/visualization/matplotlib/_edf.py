"""plot_edf: the empirical distribution function of the target over the COMPLETE trials."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ._utils import check_target, complete_trials, pyplot, style, target_values


def plot_edf(study: Study | Sequence[Study], *, target: Callable[[FrozenTrial], float] | None = None,
             target_name: str = "Objective Value") -> Any:
    """Axes: per study, a step line of the fraction of COMPLETE trials whose target is <= x, for x
    over 100 points between the smallest and largest target of all the studies."""
    studies = [study] if isinstance(study, Study) else list(study)
    plt = pyplot()
    series = []
    for s in studies:
        check_target(s, target, target_name)
        series.append((s.study_name, target_values(complete_trials(s), target)))
    with style():
        _, ax = plt.subplots()
        ax.set_title("Empirical Distribution Function Plot")
        ax.set_xlabel(target_name)
        ax.set_ylabel("Cumulative Probability")
        all_values = np.concatenate([v for _, v in series]) if series else np.empty(0)
        if all_values.size == 0:
            return ax
        x = np.linspace(all_values.min(), all_values.max(), 100)
        for name, v in series:
            if v.size:
                ax.plot(x, np.searchsorted(np.sort(v), x, side="right") / v.size, drawstyle="steps-post", label=name)
        ax.legend()
    return ax
