"""plot_param_importances: a horizontal bar per parameter, most important at the top."""
from __future__ import annotations

from typing import Any, Callable

from ...study._study import Study
from ...trial._frozen import FrozenTrial
from ...importance import get_param_importances
from ._utils import pyplot, style


def plot_param_importances(study: Study, evaluator: Any = None, params: list[str] | None = None, *,
                           target: Callable[[FrozenTrial], float] | None = None,
                           target_name: str = "Objective Value") -> Any:
    """Axes: a bar of get_param_importances(study, evaluator, params, target) per parameter (the
    bars' widths are the normalised importances), labelled with their values. A multi-objective
    study without target: one group of bars per objective."""
    plt = pyplot()
    if target is None and study._is_multi_objective():
        names = study.metric_names or [f"{target_name} {i}" for i in range(len(study.directions))]
        groups = [(names[i], get_param_importances(study, evaluator=evaluator, params=params,
                                                   target=lambda t, i=i: t.values[i])) for i in range(len(names))]
    else:
        groups = [(target_name, get_param_importances(study, evaluator=evaluator, params=params, target=target))]
    with style():
        _, ax = plt.subplots(tight_layout=True)
        ax.set_title("Hyperparameter Importances", loc="left")
        ax.set_xlabel("Hyperparameter Importance")
        ax.set_ylabel("Hyperparameter")
        if not groups[0][1]:
            return ax
        order = list(reversed(list(groups[0][1])))  # the most important at the top
        height = 0.8 / len(groups)
        cmap = plt.get_cmap("tab20c")
        for g, (name, imp) in enumerate(groups):
            ys = [i + g * height for i in range(len(order))]
            widths = [imp.get(p, 0.0) for p in order]
            bars = ax.barh(ys, widths, height=height, color=cmap(g % 20), label=name)
            for bar, w in zip(bars, widths):
                ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {w:.2f}" if w >= 0.01 else " <0.01",
                        va="center")
        ax.set_yticks([i + height * (len(groups) - 1) / 2 for i in range(len(order))])
        ax.set_yticklabels(order)
        if len(groups) > 1:
            ax.legend()
    return ax
