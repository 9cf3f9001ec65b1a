"""LR schedules with PyTorch's names and meanings; the formulas are native (csrc/optim/lr_schedule.h),
so the native training loop steps the same objects."""
from __future__ import annotations

from typing import Any

from .. import _core

_native = _core.optim

__all__ = [
    "LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "LinearLR", "OneCycleLR", "ReduceLROnPlateau",
]

LRScheduler = _native.LRScheduler


class _StateDict:
    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._set_last_epoch(int(state_dict["last_epoch"]))


class StepLR(_StateDict, _native.StepLR):
    """lr = base * gamma ** (epoch // step_size)."""


class MultiStepLR(_StateDict, _native.MultiStepLR):
    """lr = base * gamma ** (number of milestones passed)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1) -> None:
        super().__init__(optimizer, [int(m) for m in milestones], gamma)


class ExponentialLR(_StateDict, _native.ExponentialLR):
    """lr = base * gamma ** epoch."""


class CosineAnnealingLR(_StateDict, _native.CosineAnnealingLR):
    """lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2."""


class CosineAnnealingWarmRestarts(_StateDict, _native.CosineAnnealingWarmRestarts):
    """SGDR: cosine over T_cur / T_i, restarting every T_i epochs (T_i *= T_mult)."""

    def step(self, epoch: float | None = None) -> None:
        if epoch is None:
            super().step()
        else:
            self._step_to(float(epoch))

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs), "T_cur": self.T_cur, "T_i": self.T_i}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # step(epoch) may have left T_cur fractional; the restart offsets are whole epochs.
        t_cur = float(state_dict["T_cur"])
        self._step_to(float(state_dict["last_epoch"]) + (t_cur - int(t_cur)))


class LinearLR(_StateDict, _native.LinearLR):
    """lr = base * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) / total_iters)."""


class OneCycleLR(_StateDict, _native.OneCycleLR):
    """The one-cycle policy, stepped once per batch (total_steps, or epochs * steps_per_epoch)."""

    def __init__(self, optimizer, max_lr, total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85, max_momentum: float = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = int(epochs) * int(steps_per_epoch)
        max_lrs = [float(v) for v in max_lr] if isinstance(max_lr, (list, tuple)) else [float(max_lr)]
        super().__init__(optimizer, max_lrs, int(total_steps), pct_start, anneal_strategy, cycle_momentum,
                         base_momentum, max_momentum, div_factor, final_div_factor, three_phase)


class ReduceLROnPlateau(_native.ReduceLROnPlateau):
    """Multiplies the lr by factor when the metric passed to step(metric) stops improving."""

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        min_lrs = [float(v) for v in min_lr] if isinstance(min_lr, (list, tuple)) else [float(min_lr)]
        super().__init__(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown, min_lrs, eps)

    def step(self, metrics: float) -> None:  # type: ignore[override]
        super().step(float(metrics))

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "num_bad_epochs": self.num_bad_epochs, "cooldown_counter": self.cooldown_counter,
                "last_epoch": self.last_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._set_state(float(state_dict["best"]), int(state_dict["num_bad_epochs"]),
                        int(state_dict["cooldown_counter"]), int(state_dict["last_epoch"]))
