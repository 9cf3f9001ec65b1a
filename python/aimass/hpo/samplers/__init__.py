"""Samplers: how a study proposes each trial's parameters (native halves in csrc/hpo)."""
from . import nsgaii
from ._base import BaseSampler
from ._cmaes import CmaEsSampler
from ._gp import GPSampler
from ._grid import GridSampler
from ._nsga2 import NSGAIISampler
from ._partial_fixed import PartialFixedSampler
from ._qmc import QMCSampler
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace, intersection_search_space
from ._tpe import TPESampler

__all__ = ["BaseSampler", "TPESampler", "RandomSampler", "GridSampler", "QMCSampler", "CmaEsSampler", "GPSampler",
           "NSGAIISampler", "PartialFixedSampler", "nsgaii", "IntersectionSearchSpace", "intersection_search_space"]
