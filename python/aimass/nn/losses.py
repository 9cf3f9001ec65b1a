"""Loss modules: ``loss = am.nn.CrossEntropyLoss(label_smoothing=0.1); loss(logits, labels)``.
Each is the native ``Loss`` of one kind, so the training loop computes it natively."""
from __future__ import annotations

from .._core import nn as _nn

Loss = _nn.Loss


class CrossEntropyLoss(_nn.Loss):
    """From logits (N, C); targets are class indices (N,) or probabilities (N, C)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__("cross_entropy", reduction, weight=weight, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


class BCEWithLogitsLoss(_nn.Loss):
    def __init__(self, weight=None, pos_weight=None, reduction: str = "mean"):
        super().__init__("binary_cross_entropy_with_logits", reduction, weight=weight, pos_weight=pos_weight)


class MSELoss(_nn.Loss):
    def __init__(self, reduction: str = "mean"):
        super().__init__("mse", reduction)


class L1Loss(_nn.Loss):
    def __init__(self, reduction: str = "mean"):
        super().__init__("l1", reduction)


class HuberLoss(_nn.Loss):
    def __init__(self, delta: float = 1.0, reduction: str = "mean"):
        super().__init__("huber", reduction, delta=delta)


class KLDivLoss(_nn.Loss):
    """input: log-probabilities; target: probabilities (log_target: log-probabilities)."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__("kl_div", reduction, log_target=log_target)


class DistillationLoss(_nn.Loss):
    """T^2 KL(softmax(teacher / T) || softmax(student / T)), called as loss(student_logits, teacher_logits)."""

    def __init__(self, temperature: float = 1.0, reduction: str = "batchmean"):
        super().__init__("distillation", reduction, temperature=temperature)
