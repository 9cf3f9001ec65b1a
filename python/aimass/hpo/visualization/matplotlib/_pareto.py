"""plot_pareto_front: the COMPLETE trials of a 2- or 3-objective study, the Pareto front highlighted."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .... import _core  # the front is native (hpo/pareto.h)
from ...study._direction import StudyDirection
from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ...trial._state import TrialState
from ._utils import pyplot, style


def plot_pareto_front(study: Study, *, target_names: list[str] | None = None, include_dominated_trials: bool = True,
                      axis_order: list[int] | None = None,
                      constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
                      targets: Callable[[FrozenTrial], Sequence[float]] | None = None) -> Any:
    """Axes (3-d Axes for three objectives): "Best Trial" points on the Pareto front, "Trial" points
    for the dominated ones (include_dominated_trials), "Infeasible Trial" for those constraints_func
    rejects (any value > 0). targets picks the 2 or 3 values to draw (default: the objectives)."""
    n_obj = len(study.directions)
    if targets is None and n_obj not in (2, 3):
        raise ValueError("`plot_pareto_front` function only supports 2 or 3 objective studies when using "
                         "`targets` is `None`. Please use `targets` if your objective studies have more than "
                         "3 objectives.")
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    feasible = [t for t in trials if constraints_func is None or all(c <= 0 for c in constraints_func(t))]
    infeasible = [t for t in trials if constraints_func is not None and any(c > 0 for c in constraints_func(t))]

    def points(ts: list[FrozenTrial]) -> np.ndarray:
        return np.asarray([list(targets(t)) if targets is not None else list(t.values) for t in ts], dtype=float)

    pts = points(feasible)
    n_dim = pts.shape[1] if pts.size else (n_obj if targets is None else 2)
    if n_dim not in (2, 3):
        raise ValueError("targets must return 2 or 3 values.")
    if target_names is None:
        target_names = study.metric_names if targets is None and study.metric_names else [
            f"Objective {i}" for i in range(n_dim)]
    elif len(target_names) != n_dim:
        raise ValueError(f"The length of `target_names` is supposed to be {n_dim}.")
    axis_order = list(range(n_dim)) if axis_order is None else list(axis_order)
    if sorted(axis_order) != list(range(n_dim)):
        raise ValueError(f"axis_order must be a permutation of {list(range(n_dim))}, got {axis_order}.")
    # Non-dominated points (each objective minimised: maximised ones negated).
    if pts.size:
        signs = np.asarray([-1.0 if d == StudyDirection.MAXIMIZE else 1.0 for d in study.directions]) \
            if targets is None else np.ones(n_dim)
        front = np.zeros(len(pts), dtype=bool)
        front[_core.hpo.pareto_front(pts * signs)] = True
    else:
        front = np.zeros(0, dtype=bool)
    plt = pyplot()
    with style():
        fig = plt.figure()
        ax = fig.add_subplot(projection="3d") if n_dim == 3 else fig.add_subplot()
        ax.set_title("Pareto-front Plot")
        ax.set_xlabel(target_names[axis_order[0]])
        ax.set_ylabel(target_names[axis_order[1]])
        if n_dim == 3:
            ax.set_zlabel(target_names[axis_order[2]])
        cmap = plt.get_cmap("tab10")

        def draw(p: np.ndarray, **kw: Any) -> None:
            if len(p):
                ax.scatter(*[p[:, k] for k in axis_order], **kw)

        if infeasible:
            draw(points(infeasible), color="#cccccc", label="Infeasible Trial")
        if include_dominated_trials and len(pts):
            draw(pts[~front], color=cmap(0), label="Trial")
        if len(pts):
            draw(pts[front], color=cmap(3), label="Best Trial")
        if len(pts) or infeasible:
            ax.legend()
    return ax
