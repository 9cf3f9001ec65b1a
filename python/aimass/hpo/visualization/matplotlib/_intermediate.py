"""plot_intermediate_values: each trial's reported values by step."""
from __future__ import annotations

import warnings
from typing import Any

from ...study._study import Study
from ...trial._state import TrialState
from ._utils import pyplot, style


def plot_intermediate_values(study: Study) -> Any:
    """Axes: one line per trial (COMPLETE, PRUNED or RUNNING) that reported intermediate values, its
    values against their steps, labelled "Trial<number>"."""
    plt = pyplot()
    trials = [t for t in study.get_trials(deepcopy=False)
              if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING) and t.intermediate_values]
    with style():
        _, ax = plt.subplots(tight_layout=True)
        ax.set_title("Intermediate Values Plot")
        ax.set_xlabel("Step")
        ax.set_ylabel("Intermediate Value")
        if not trials:
            warnings.warn("You need to set up the pruning feature to utilize `plot_intermediate_values()`",
                          UserWarning, stacklevel=2)
            return ax
        cmap = plt.get_cmap("tab20")
        for i, t in enumerate(trials):
            steps = sorted(t.intermediate_values)
            ax.plot(steps, [t.intermediate_values[s] for s in steps], color=cmap(i % 20), marker=".", alpha=0.7,
                    label=f"Trial{t.number}")
        if len(trials) < 21:
            ax.legend(bbox_to_anchor=(1.05, 1), loc="upper left", borderaxespad=0.0)
    return ax
