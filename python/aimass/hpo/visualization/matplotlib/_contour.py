"""plot_contour: the target over each pair of parameters, interpolated between the trials."""
from __future__ import annotations

import itertools
from typing import Any, Callable

import numpy as np

from ...study._direction import StudyDirection
from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ._utils import (check_target, complete_trials, is_log, param_column, param_distribution, plot_params, pyplot,
                     style, target_values)


def plot_contour(study: Study, params: list[str] | None = None, *,
                 target: Callable[[FrozenTrial], float] | None = None, target_name: str = "Objective Value") -> Any:
    """Two parameters: an Axes with a filled contour of the target (linear interpolation over the
    trials' Delaunay triangulation; log parameters in log space) and the trials as points. More:
    an [n, n] array of Axes, pair (i, j) in row j, column i, the diagonal empty."""
    check_target(study, target, target_name)
    plt = pyplot()
    trials = complete_trials(study)
    names = plot_params(study, trials, params)
    if params is not None and len(params) < 2:  # (fewer than two in the study: an empty plot)
        raise ValueError("plot_contour needs at least two parameters, got {}.".format(params))
    values = target_values(trials, target)
    reverse = target is None and not study._is_multi_objective() and study.direction == StudyDirection.MAXIMIZE
    cmap = "Blues" if reverse else "Blues_r"
    with style():
        if len(names) <= 2:
            _, ax = plt.subplots()
            ax.set_title("Contour Plot")
            if len(names) == 2:
                cs = _pair(ax, trials, values, names[0], names[1], cmap)
                if cs is not None:
                    ax.figure.colorbar(cs, ax=ax, label=target_name)
            return ax
        n = len(names)
        fig, axs = plt.subplots(n, n, figsize=(3 * n, 3 * n))
        fig.suptitle("Contour Plot")
        cs = None
        for (i, x), (j, y) in itertools.product(enumerate(names), repeat=2):
            ax = axs[j, i]
            if i == j:
                ax.axis("off")
                continue
            cs = _pair(ax, trials, values, x, y, cmap) or cs
        if cs is not None:
            fig.colorbar(cs, ax=axs, label=target_name)
        return axs


def _pair(ax: Any, trials: list[FrozenTrial], values: np.ndarray, x: str, y: str, cmap: str) -> Any:
    """Draw the contour of values over (x, y) on ax; returns the contour set (None: too few points)."""
    xs, hx, cx = param_column(trials, x)
    ys, hy, cy = param_column(trials, y)
    keep = hx & hy
    xs, ys, zs = xs[keep], ys[keep], values[keep]
    log_x, log_y = is_log(param_distribution(trials, x)), is_log(param_distribution(trials, y))
    ax.set(xlabel=x, ylabel=y)
    cs = None
    tx, ty = (np.log10(xs) if log_x else xs), (np.log10(ys) if log_y else ys)
    if len(np.unique(tx)) >= 2 and len(np.unique(ty)) >= 2 and len(zs) >= 3:
        import matplotlib.tri as mtri
        try:
            tri = mtri.Triangulation(tx, ty)
            gx, gy = np.meshgrid(np.linspace(tx.min(), tx.max(), 100), np.linspace(ty.min(), ty.max(), 100))
            gz = mtri.LinearTriInterpolator(tri, zs)(gx, gy)
            cs = ax.contourf(10 ** gx if log_x else gx, 10 ** gy if log_y else gy, gz, 15, cmap=cmap, alpha=0.8)
        except (RuntimeError, ValueError):  # collinear points: no triangulation
            cs = None
    ax.scatter(xs, ys, color="black", s=12, edgecolors="grey")
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if cx is not None:
        ax.set_xticks(range(len(cx)))
        ax.set_xticklabels(cx)
    if cy is not None:
        ax.set_yticks(range(len(cy)))
        ax.set_yticklabels(cy)
    return cs
