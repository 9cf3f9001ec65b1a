"""Integrations with training loops (optuna.integration's names): AimassPruningCallback for aimass's
Model.fit (the same class as am.hpo.PruningCallback)."""
from .._fit_callback import PruningCallback as AimassPruningCallback

__all__ = ["AimassPruningCallback"]
