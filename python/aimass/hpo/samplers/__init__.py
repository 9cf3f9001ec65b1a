"""Samplers: how a study proposes each trial's parameters (native halves in csrc/hpo)."""
from ._base import BaseSampler
from ._partial_fixed import PartialFixedSampler
from ._random import RandomSampler
from ._search_space import IntersectionSearchSpace, intersection_search_space

__all__ = ["BaseSampler", "PartialFixedSampler", "RandomSampler", "IntersectionSearchSpace", "intersection_search_space"]
