"""plot_optimization_history: each COMPLETE trial's value by number, and the best value so far."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ...study._direction import StudyDirection
from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ._utils import check_target, complete_trials, pyplot, style, target_values


def plot_optimization_history(study: Study | Sequence[Study], *, target: Callable[[FrozenTrial], float] | None = None,
                              target_name: str = "Objective Value", error_bar: bool = False) -> Any:
    """Axes: a scatter of the COMPLETE trials' values against their numbers and (without target)
    a line of the best value so far ("Best Value"). Several studies: one scatter and line each,
    or with error_bar, their mean and standard deviation per trial number."""
    studies = [study] if isinstance(study, Study) else list(study)
    plt = pyplot()
    with style():
        _, ax = plt.subplots(tight_layout=True)
        ax.set_title("Optimization History Plot")
        ax.set_xlabel("Trial")
        ax.set_ylabel(target_name)
        series = []
        for s in studies:
            check_target(s, target, target_name)
            trials = complete_trials(s)
            numbers = np.asarray([t.number for t in trials])
            values = target_values(trials, target)
            best = None
            if target is None and len(values):
                acc = np.maximum if s.direction == StudyDirection.MAXIMIZE else np.minimum
                best = acc.accumulate(values)
            series.append((s.study_name, numbers, values, best))
        if error_bar and len(series) > 1:
            _error_bars(ax, series, target_name)
        else:
            colors = plt.get_cmap("tab10")
            for i, (name, numbers, values, best) in enumerate(series):
                suffix = f" of {name}" if len(series) > 1 else ""
                ax.scatter(numbers, values, color=colors(i % 10), alpha=1 if len(series) == 1 else 0.5,
                           label=f"{target_name}{suffix}")
                if best is not None:
                    ax.plot(numbers, best, marker="o", color=colors((i + 3) % 10), alpha=0.5,
                            label=f"Best Value{suffix}")
        if any(len(n) for _, n, _, _ in series):
            ax.legend()
    return ax


def _error_bars(ax: Any, series: list, target_name: str) -> None:
    n = max((int(numbers.max()) + 1 for _, numbers, _, _ in series if len(numbers)), default=0)
    values = np.full((len(series), n), np.nan)
    best = np.full((len(series), n), np.nan)
    for i, (_, numbers, v, b) in enumerate(series):
        values[i, numbers] = v
        if b is not None:
            best[i, numbers] = b
    x = np.arange(n)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # numbers no study completed: all-NaN columns
            mean, std = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
            bmean, bstd = np.nanmean(best, axis=0), np.nanstd(best, axis=0)
    ok = ~np.isnan(mean)
    ax.errorbar(x[ok], mean[ok], yerr=std[ok], capsize=5, fmt="o", label=target_name)
    okb = ~np.isnan(bmean)
    if okb.any():
        ax.plot(x[okb], bmean[okb], marker="o", label="Best Value")
        ax.fill_between(x[okb], bmean[okb] - bstd[okb], bmean[okb] + bstd[okb], alpha=0.2)
