"""Hyperparameter importances (Optuna's optuna.importance): which parameters mattered.

    importances = am.hpo.importance.get_param_importances(study)          # PED-ANOVA, as Optuna 5
    importances = am.hpo.importance.get_param_importances(
        study, evaluator=am.hpo.importance.FanovaImportanceEvaluator(seed=0))

Both evaluators are native (csrc/hpo/importance.h, which documents the algorithms); this module picks
the trials and parameters, bins or encodes their values and normalises.
"""
from __future__ import annotations

from typing import Callable

from ..study._study import Study
from ..trial._frozen import FrozenTrial
from ._base import BaseImportanceEvaluator
from ._fanova import FanovaImportanceEvaluator
from ._ped_anova import PedAnovaImportanceEvaluator


def get_param_importances(study: Study, *, evaluator: BaseImportanceEvaluator | None = None,
                          params: list[str] | None = None, target: Callable[[FrozenTrial], float] | None = None,
                          normalize: bool = True) -> dict[str, float]:
    """{parameter: importance}, most important first, from the study's COMPLETE trials. evaluator:
    PedAnovaImportanceEvaluator() by default; params: the parameters to assess (default: all);
    target: the value to explain (default: the objective value); normalize: importances sum to 1
    (all equal when every raw importance is 0)."""
    evaluator = PedAnovaImportanceEvaluator() if evaluator is None else evaluator
    if not isinstance(evaluator, BaseImportanceEvaluator):
        raise TypeError("Evaluator must be a subclass of BaseImportanceEvaluator.")
    res = evaluator.evaluate(study, params=params, target=target)
    if not normalize:
        return res
    total = sum(res.values())
    if total == 0.0:
        return {name: 1.0 / len(res) for name in res}
    return {name: value / total for name, value in res.items()}


__all__ = ["get_param_importances", "BaseImportanceEvaluator", "FanovaImportanceEvaluator",
           "PedAnovaImportanceEvaluator"]
