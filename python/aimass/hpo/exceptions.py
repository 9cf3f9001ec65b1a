"""am.hpo's exceptions, as Optuna's (``optuna.exceptions``)."""
from __future__ import annotations


class OptunaError(Exception):
    """Base of am.hpo's own errors (named as Optuna's so ``except optuna.exceptions.OptunaError`` ports)."""


class TrialPruned(OptunaError):
    """Raised by an objective to stop a trial that ``trial.should_prune()`` says is not promising."""


class CLIUsageError(OptunaError):
    pass


class StorageInternalError(OptunaError):
    """A storage failed to do what was asked (the database refused, a journal line was corrupt)."""


class DuplicatedStudyError(OptunaError):
    """A study of that name already exists (use ``load_if_exists=True`` to continue it)."""


class UpdateFinishedTrialError(OptunaError, RuntimeError):
    """A finished trial (COMPLETE, PRUNED or FAIL) cannot be changed."""


class ExperimentalWarning(Warning):
    pass
