"""Samplers: how a study proposes each trial's parameters (native halves in csrc/hpo)."""
from . import nsgaii
from ._base import BaseSampler
from ._cmaes import CmaEsSampler
from ._gp import GPSampler
from ._nsga2 import NSGAIISampler
from ._partial_fixed import PartialFixedSampler
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace, intersection_search_space

__all__ = ["BaseSampler", "RandomSampler", "CmaEsSampler", "GPSampler", "NSGAIISampler", "PartialFixedSampler",
           "nsgaii", "IntersectionSearchSpace", "intersection_search_space"]
