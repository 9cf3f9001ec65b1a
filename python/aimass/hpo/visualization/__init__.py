"""Plots of a study (Optuna's optuna.visualization names), drawn with matplotlib: each returns a
matplotlib Axes (an array of Axes for the multi-panel plot_contour / plot_slice), as
optuna.visualization.matplotlib does. ``am.hpo.visualization`` and
``am.hpo.visualization.matplotlib`` hold the same functions (Optuna's plain module draws with
plotly; here both draw with matplotlib)."""
from . import matplotlib
from .matplotlib import (is_available, plot_contour, plot_edf, plot_intermediate_values, plot_optimization_history,
                         plot_parallel_coordinate, plot_param_importances, plot_pareto_front, plot_slice)

__all__ = ["matplotlib", "is_available", "plot_contour", "plot_edf", "plot_intermediate_values",
           "plot_optimization_history", "plot_parallel_coordinate", "plot_param_importances", "plot_pareto_front",
           "plot_slice"]
