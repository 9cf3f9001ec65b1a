"""Samplers: how a study proposes each trial's parameters (native halves in csrc/hpo)."""
from ._base import BaseSampler
from ._grid import GridSampler
from ._qmc import QMCSampler
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace, intersection_search_space
from ._tpe import TPESampler

__all__ = ["BaseSampler", "GridSampler", "QMCSampler", "RandomSampler", "TPESampler", "IntersectionSearchSpace",
           "intersection_search_space"]
