"""Pruners: stop unpromising trials early from their intermediate values (native halves in csrc/hpo)."""
from ._base import BasePruner, NopPruner

MedianPruner = NopPruner  # replaced by the native median pruner

__all__ = ["BasePruner", "NopPruner", "MedianPruner"]
