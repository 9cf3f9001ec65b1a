"""Pruners: stop unpromising trials early from their intermediate values (Optuna 5.1's pruners; the
decisions are native, aimass._core.hpo, from csrc/hpo/pruners.h)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import BasePruner, NopPruner
from ._hyperband import HyperbandPruner
from ._patient import PatientPruner
from ._percentile import MedianPruner, PercentilePruner
from ._successive_halving import SuccessiveHalvingPruner
from ._threshold import ThresholdPruner
from ._wilcoxon import WilcoxonPruner

if TYPE_CHECKING:
    from ..study._study import Study
    from ..trial._frozen import FrozenTrial


def _filter_study(study: "Study", trial: "FrozenTrial") -> Any:
    """The study a sampler sees for trial: under Hyperband, the trial's bracket (Optuna's _filter_study)."""
    if isinstance(study.pruner, HyperbandPruner):
        pruner: HyperbandPruner = study.pruner
        return pruner._create_bracket_study(study, pruner._get_bracket_id(study, trial))
    return study


__all__ = ["BasePruner", "NopPruner", "MedianPruner", "PercentilePruner", "SuccessiveHalvingPruner",
           "HyperbandPruner", "ThresholdPruner", "PatientPruner", "WilcoxonPruner"]
