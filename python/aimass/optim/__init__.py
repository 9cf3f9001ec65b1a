"""aimass.optim: optimizers with fused native steps, LR schedules, gradient clipping, loss scaling.

PyTorch's torch.optim API::

    opt = am.optim.AdamW(model.parameters(), lr=1e-3)
    sched = am.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    loss.backward(); am.optim.clip_grad_norm_(model.parameters(), 1.0); opt.step(); opt.zero_grad()

Each optimizer is a native C++ object (``aimass._core.optim``): ``step()`` runs one fused kernel
per parameter group, and the native training loop steps the same object without Python.
"""
from __future__ import annotations

from . import lr_scheduler
from ._grad_scaler import GradScaler
from ._optimizers import SGD, Adagrad, Adam, AdamW, Lion, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion",
    "clip_grad_norm_", "clip_grad_value_", "GradScaler", "lr_scheduler",
]
