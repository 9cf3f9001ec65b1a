"""Trials: the one being run (Trial), a record (FrozenTrial), fixed parameters (FixedTrial)."""
from ._frozen import FrozenTrial, create_trial
from ._state import TrialState
from ._trial import FixedTrial, Trial

BaseTrial = (Trial, FixedTrial, FrozenTrial)

__all__ = ["Trial", "FixedTrial", "FrozenTrial", "TrialState", "create_trial", "BaseTrial"]
