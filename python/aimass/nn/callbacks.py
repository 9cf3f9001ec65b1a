"""Callbacks for Model.fit, as Keras's: subclass Callback and override the hooks you need.

Hooks: on_train_begin / on_train_end, on_epoch_begin(epoch) / on_epoch_end(epoch, logs), and
on_train_batch_end(batch, logs) (logs: the epoch's running "loss" and "samples"). The batch hook
is called from the native loop between steps; only callbacks that define it make the loop call
back into Python per batch. Setting ``self.model.stop_training = True`` stops fit after the
current step (from a batch hook) or epoch.
"""
from __future__ import annotations

import csv
import math
import os
import time
from typing import Any, Callable


class Callback:
    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_interrupt(self, epoch: int, logs: dict | None = None) -> None:
        """Ctrl-C stopped training during ``epoch``; logs hold that epoch's partial figures."""


class CallbackList:
    """Dispatches each hook to every callback, in order."""

    def __init__(self, callbacks, model, params: dict) -> None:
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)
        self.model = model

    def _each(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self) -> None:
        self._each("on_train_begin", {})

    def on_train_end(self) -> None:
        self._each("on_train_end", {})

    def on_epoch_begin(self, epoch: int) -> None:
        self._each("on_epoch_begin", epoch, {})

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self._each("on_epoch_end", epoch, logs)

    def on_interrupt(self, epoch: int, logs: dict) -> None:
        self._each("on_interrupt", epoch, logs)

    def wants_batches(self) -> bool:
        return any(type(cb).on_train_batch_end is not Callback.on_train_batch_end for cb in self.callbacks)

    def batch_hook(self, epoch: int) -> Callable[[int, int, float], bool]:
        """What the native loop calls after a step: returns False to stop."""
        hooked = [cb for cb in self.callbacks if type(cb).on_train_batch_end is not Callback.on_train_batch_end]

        def hook(batch: int, samples: int, mean_loss: float) -> bool:
            logs = {"loss": mean_loss, "samples": samples}
            for cb in hooked:
                cb.on_train_batch_end(batch, logs)
            return not getattr(self.model, "stop_training", False)

        return hook


def _format(logs: dict) -> str:
    parts = []
    for k, v in logs.items():
        if k == "lr":
            parts.append(f"lr={v:.3g}")
        elif k == "samples_per_second":
            parts.append(f"{v:,.0f} samples/s")
        else:
            parts.append(f"{k}={v:.4f}")
    return ", ".join(parts)


class ProgressBar(Callback):
    """A tqdm bar per epoch (a notebook widget in Jupyter, text in a terminal) with the running
    loss; at the end of each epoch, the epoch's loss, metrics, validation figures and samples/s."""

    def __init__(self) -> None:
        super().__init__()
        self._bar = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=self.params.get("steps"), desc=f"Epoch {epoch + 1}/{self.params.get('epochs')}",
                         unit="batch", leave=True, dynamic_ncols=True)
        self._start = time.perf_counter()
        self._done = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self._bar is None:
            return
        self._bar.update(batch + 1 - self._done)
        self._done = batch + 1
        elapsed = time.perf_counter() - self._start
        rate = logs["samples"] / elapsed if elapsed > 0 else 0.0
        self._bar.set_postfix_str(f"loss={logs['loss']:.4f}, {rate:,.0f} samples/s", refresh=False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(_format(logs or {}), refresh=False)
            self._bar.close()
            self._bar = None

    def on_interrupt(self, epoch: int, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str("interrupted", refresh=False)
            self._bar.close()
            self._bar = None

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _better(mode: str, min_delta: float) -> Callable[[float, float], bool]:
    if mode == "min":
        return lambda current, best: current < best - min_delta
    return lambda current, best: current > best + min_delta


def _mode_for(monitor: str, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in ("acc", "auc", "precision", "recall", "f1")) else "min"


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    restore_best_weights, puts back the weights of the best epoch at the end."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, mode: str = "auto",
                 restore_best_weights: bool = False, baseline: float | None = None) -> None:
        super().__init__()
        self.monitor, self.patience, self.restore_best_weights = monitor, patience, restore_best_weights
        self.mode = _mode_for(monitor, mode)
        self.improved = _better(self.mode, abs(min_delta))
        self.baseline = baseline
        self.stopped_epoch = -1
        self.best_epoch = -1

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait = 0
        self.best = self.baseline if self.baseline is not None else (math.inf if self.mode == "min" else -math.inf)
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            raise KeyError(f"EarlyStopping: the monitored value {self.monitor!r} is not in the logs "
                           f"(available: {sorted(logs or {})})")
        if self.improved(current, self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (model.save) after each epoch, or only when ``monitor`` improves
    (save_best_only). ``filepath`` may contain format fields: "ckpt-{epoch:02d}-{val_loss:.3f}.safetensors"."""

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", include_optimizer: bool = True) -> None:
        super().__init__()
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.mode = _mode_for(monitor, mode)
        self.improved = _better(self.mode, 0.0)
        self.include_optimizer = include_optimizer
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                raise KeyError(f"ModelCheckpoint: the monitored value {self.monitor!r} is not in the logs "
                               f"(available: {sorted(logs)})")
            if not self.improved(current, self.best):
                return
            self.best = current
        self.model.save(self.filepath.format(epoch=epoch + 1, **logs), include_optimizer=self.include_optimizer)


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch: ``schedule(epoch, lr) -> lr``, or steps an
    am.optim.lr_scheduler object at the end of each epoch (ReduceLROnPlateau gets ``monitor``)."""

    def __init__(self, schedule, monitor: str = "val_loss") -> None:
        super().__init__()
        self.schedule, self.monitor = schedule, monitor

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if callable(self.schedule) and not hasattr(self.schedule, "step"):
            opt = self.model.optimizer
            lr = float(self.schedule(epoch, float(opt.param_groups[0]["lr"])))
            for group in opt.param_groups:
                group["lr"] = lr

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if hasattr(self.schedule, "step"):
            if type(self.schedule).__name__ == "ReduceLROnPlateau":
                self.schedule.step((logs or {})[self.monitor])
            else:
                self.schedule.step()


class CSVLogger(Callback):
    """Appends one row per epoch (epoch, then every logged value) to a CSV file."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.separator, self.append = str(filename), separator, append
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._keys = None
        if not self.append and os.path.exists(self.filename):
            os.remove(self.filename)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        new_file = not os.path.exists(self.filename) or os.path.getsize(self.filename) == 0
        if self._keys is None:
            self._keys = list(logs)
        with open(self.filename, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if new_file:
                writer.writerow(["epoch", *self._keys])
            writer.writerow([epoch, *(logs.get(k, "") for k in self._keys)])


class TerminateOnNaN(Callback):
    """Stops training when the running loss becomes NaN or infinite."""

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not math.isfinite((logs or {}).get("loss", 0.0)):
            self.model.stop_training = True
