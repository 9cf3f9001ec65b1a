"""PruningCallback: prune an aimass Model.fit run from its epoch logs.

    def objective(trial):
        model = build(trial)
        pruning = am.hpo.PruningCallback(trial, monitor="val_loss")
        history = model.fit(x, y, epochs=50, validation_split=0.2, callbacks=[pruning], verbose=0)
        pruning.check_pruned()            # raises TrialPruned when the pruner stopped the fit
        return history.history["val_loss"][-1]

Each epoch the callback reports ``logs[monitor]`` as the trial's intermediate value at step = the
epoch number and asks the study's pruner; when it says prune, the callback sets
``model.stop_training`` so that the native loop stops before the next epoch (the weights and History
stay as they are), and ``check_pruned()`` after fit raises ``TrialPruned`` — Optuna's pattern for
frameworks whose callbacks should not raise through the training loop (optuna-integration's
PyTorch Lightning callback has the same ``check_pruned``).
"""
from __future__ import annotations

import warnings
from typing import Any

from ..nn.callbacks import Callback
from .exceptions import TrialPruned


class PruningCallback(Callback):
    """Reports ``monitor`` (a key of fit's epoch logs: "val_loss", "loss", "val_accuracy", ...) to
    ``trial`` each epoch and stops fit when the trial should be pruned; call ``check_pruned()``
    after fit. A monitor missing from the logs warns once per epoch, naming the keys there are."""

    def __init__(self, trial: Any, monitor: str = "val_loss") -> None:
        super().__init__()
        self._trial = trial
        self.monitor = monitor
        self.pruned = False
        self.pruned_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"The metric '{self.monitor}' is not in the evaluation logs for pruning (available: "
                          f"{sorted(logs)}). Please make sure you set the correct metric name.", UserWarning,
                          stacklevel=2)
            return
        self._trial.report(float(current), step=epoch)
        if self._trial.should_prune():
            self.pruned, self.pruned_epoch = True, epoch
            if self.model is not None:
                self.model.stop_training = True

    def check_pruned(self) -> None:
        """Raise TrialPruned when the pruner stopped the fit (call it after ``Model.fit`` returns)."""
        if self.pruned:
            raise TrialPruned(f"Trial was pruned at epoch {self.pruned_epoch}.")
