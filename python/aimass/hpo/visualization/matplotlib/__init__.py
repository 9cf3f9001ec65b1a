"""The study plots, drawn with matplotlib (Optuna's optuna.visualization.matplotlib)."""
from ._contour import plot_contour
from ._edf import plot_edf
from ._history import plot_optimization_history
from ._importances import plot_param_importances
from ._intermediate import plot_intermediate_values
from ._parallel import plot_parallel_coordinate
from ._pareto import plot_pareto_front
from ._slice import plot_slice
from ._utils import is_available

__all__ = ["is_available", "plot_contour", "plot_edf", "plot_intermediate_values", "plot_optimization_history",
           "plot_parallel_coordinate", "plot_param_importances", "plot_pareto_front", "plot_slice"]
