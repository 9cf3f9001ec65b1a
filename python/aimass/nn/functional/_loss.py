"""loss ops of aimass.nn.functional, and linear (PyTorch's signatures; native in csrc/ops/loss.h, linear.h)."""
from __future__ import annotations

from ..._core import Tensor, asarray, cross_entropy
from ..._core import functional as _f

__all__ = [
    "linear",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "distillation_loss",
    "cross_entropy",
]


def _input(x) -> Tensor:
    return x if isinstance(x, Tensor) else asarray(x)


def _target(target, input: Tensor) -> Tensor:
    """A target given as data (NumPy array, list, number) takes the input's dtype and device."""
    if isinstance(target, Tensor):
        return target
    return asarray(target, dtype=input.dtype, device=input.device)


def _optional(x, input: Tensor):
    return None if x is None else _target(x, input)


def linear(input, weight, bias=None, activation: str | None = None) -> Tensor:
    """activation(input @ weight.T + bias); weight is (out_features, in_features). activation: None or "relu"."""
    return _f.linear(input, weight, bias, "none" if activation is None else activation)


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    x = _input(input)
    return _f.mse_loss(x, _target(target, x), reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    x = _input(input)
    return _f.l1_loss(x, _target(target, x), reduction)


def huber_loss(input, target, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    x = _input(input)
    return _f.huber_loss(x, _target(target, x), float(delta), reduction)


def smooth_l1_loss(input, target, beta: float = 1.0, reduction: str = "mean") -> Tensor:
    """huber_loss(delta=beta) / beta; l1_loss when beta is 0 (PyTorch's definition)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    return huber_loss(input, target, beta, reduction) / float(beta)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction: str = "mean") -> Tensor:
    x = _input(input)
    return _f.binary_cross_entropy_with_logits(x, _target(target, x), _optional(weight, x), _optional(pos_weight, x),
                                               reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """input: log-probabilities; target: probabilities (log-probabilities with log_target). reduction also "batchmean"."""
    x = _input(input)
    return _f.kl_div(x, _target(target, x), reduction, bool(log_target))


def distillation_loss(student_logits, teacher_logits, temperature: float = 1.0, reduction: str = "batchmean") -> Tensor:
    """T^2 KL(softmax(teacher / T) || softmax(student / T)) over the last axis (Hinton et al.).
    reduction: "batchmean" (per row, averaged), "sum", "mean" (over elements, as kl_div) or "none" (one per row)."""
    s = _input(student_logits)
    return _f.distillation_loss(s, _target(teacher_logits, s), float(temperature), reduction)
