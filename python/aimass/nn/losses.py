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


# Keras's losses, with Keras's semantics (csrc/nn/keras_loss.h): classes on the last axis;
# from_logits=False: the model outputs probabilities (clipped to [1e-7, 1 - 1e-7] before the log).
# When the model's last layer is a softmax / sigmoid, fit computes the loss from the logits
# instead (csrc/nn/logits.h), as Keras does.

def _keras_reduction(reduction) -> str:
    if reduction is None or reduction == "none":
        return "none"
    names = {"sum_over_batch_size": "mean", "mean": "mean", "sum": "sum"}
    if reduction not in names:
        raise ValueError(f"unknown reduction {reduction!r} (expected 'sum_over_batch_size', 'sum' or None)")
    return names[reduction]


class _KerasLoss(_nn.Loss):
    _kind = ""

    def __init__(self, from_logits: bool = False, reduction: str | None = "sum_over_batch_size"):
        super().__init__(self._kind + ("_from_logits" if from_logits else ""), _keras_reduction(reduction))


class CategoricalCrossentropy(_KerasLoss):
    """Keras's: one-hot (or probability) targets (..., C); -sum(y * log p) per sample."""
    _kind = "categorical_crossentropy"


class SparseCategoricalCrossentropy(_KerasLoss):
    """Keras's: integer class targets (...); -log p[y] per sample."""
    _kind = "sparse_categorical_crossentropy"


class BinaryCrossentropy(_KerasLoss):
    """Keras's: targets in [0, 1] of the output's shape; the mean over the last axis of
    -(y log p + (1 - y) log(1 - p)) per sample."""
    _kind = "binary_crossentropy"
