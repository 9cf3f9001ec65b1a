"""Normalisation, dropout and activations of aimass.nn.functional (kernels in csrc/ops)."""
from __future__ import annotations

from ... import _core
from ..._core import log_softmax, relu, sigmoid, softmax, tanh

__all__: list[str] = [
    "batch_norm",
    "dropout",
    "gelu",
    "layer_norm",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
]

_f = _core.functional


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalises x over its trailing ``normalized_shape`` (an int or a tuple)."""
    return _f.layer_norm(x, normalized_shape, weight, bias, eps)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Per-channel normalisation of x (N, C, *spatial); running statistics updated in place when training."""
    return _f.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)


def dropout(x, p=0.5, training=True):
    """Inverted dropout, drawn from the generator seeded by ``am.manual_seed``."""
    return _f.dropout(x, p, training)


def gelu(x, approximate="none"):
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _f.gelu(x, approximate == "tanh")


def silu(x):
    return _f.silu(x)


def leaky_relu(x, negative_slope=0.01):
    return _f.leaky_relu(x, negative_slope)
