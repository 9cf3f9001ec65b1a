"""plot_parallel_coordinate: a polyline per COMPLETE trial through its target value and parameters."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ...study._direction import StudyDirection
from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ._utils import (check_target, complete_trials, is_log, param_column, param_distribution, plot_params, pyplot,
                     style, target_values)


def plot_parallel_coordinate(study: Study, params: list[str] | None = None, *,
                             target: Callable[[FrozenTrial], float] | None = None,
                             target_name: str = "Objective Value") -> Any:
    """Axes: the first vertical axis is the target, then one per parameter (log parameters in log10,
    categoricals by choice index); every axis is scaled to [0, 1] and labelled with its range.
    One line per COMPLETE trial that has every parameter, coloured by its target (the best
    darkest). ``ax.lines`` holds the trials' lines in trial order."""
    check_target(study, target, target_name)
    plt = pyplot()
    trials = complete_trials(study)
    names = plot_params(study, trials, params)
    trials = [t for t in trials if all(p in t.params for p in names)]
    with style():
        _, ax = plt.subplots()
        ax.set_title("Parallel Coordinate Plot", y=1.03)
        if not trials or not names:
            return ax
        values = target_values(trials, target)
        columns, labels = [values], [target_name]
        ticks: list[tuple[list[float], list[str]] | None] = [None]
        for name in names:
            col, _, cats = param_column(trials, name)
            if is_log(param_distribution(trials, name)):
                col = np.log10(col)
                name = f"{name} (log10)"
            columns.append(col)
            labels.append(name)
            ticks.append((list(range(len(cats))), cats) if cats is not None else None)
        data = np.stack(columns, axis=1)  # [trials, 1 + params]
        lo, hi = np.nanmin(data, axis=0), np.nanmax(data, axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        scaled = (data - lo) / span
        reverse = target is None and study.direction == StudyDirection.MAXIMIZE
        cmap = plt.get_cmap("Blues" if reverse else "Blues_r")
        vnorm = (values - values.min()) / (np.ptp(values) or 1.0)
        x = np.arange(data.shape[1])
        for row, c in zip(scaled, vnorm):
            ax.plot(x, row, color=cmap(c), alpha=0.8)
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=330)
        ax.set_ylim(-0.05, 1.05)
        ax.set_yticks([])
        ax.vlines(x, 0, 1, color="black", linewidth=1)  # a collection: ax.lines stays the trials'
        for i in x:
            if ticks[i] is not None:
                for pos, text in zip(*ticks[i]):
                    ax.text(i, (pos - lo[i]) / span[i], text, fontsize=8, ha="left")
            else:
                ax.text(i, 1.02, f"{hi[i]:.3g}", fontsize=8, ha="center")
                ax.text(i, -0.04, f"{lo[i]:.3g}", fontsize=8, ha="center", va="top")
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(values.min(), values.max()))
        ax.figure.colorbar(sm, ax=ax, label=target_name)
    return ax
