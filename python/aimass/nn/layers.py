"""The native layers, re-exported, and the activation layers (Python subclasses of one native
activation layer, so they run natively too)."""
from __future__ import annotations

from .._core import nn as _nn

AvgPool2D = _nn.AvgPool2D
BatchNorm1D = _nn.BatchNorm1D
BatchNorm2D = _nn.BatchNorm2D
Conv1D = _nn.Conv1D
Conv2D = _nn.Conv2D
Dense = _nn.Dense
Dropout = _nn.Dropout
Embedding = _nn.Embedding
Flatten = _nn.Flatten
GlobalAveragePooling2D = _nn.GlobalAveragePooling2D
LayerNorm = _nn.LayerNorm
MaxPool2D = _nn.MaxPool2D
MultiHeadAttention = _nn.MultiHeadAttention
Reshape = _nn.Reshape
Sequential = _nn.Sequential
TransformerBlock = _nn.TransformerBlock

Linear = Dense  # PyTorch's name


class ReLU(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("ReLU", "relu")

    def get_config(self) -> dict:
        return {}


class LeakyReLU(_nn._Activation):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__("LeakyReLU", "leaky_relu", negative_slope)

    def get_config(self) -> dict:
        return {"negative_slope": _nn._Activation.get_config(self)["negative_slope"]}


class GELU(_nn._Activation):
    """approximate="none" (erf) or "tanh"."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__("GELU", "gelu" if approximate == "none" else "gelu_tanh")

    def get_config(self) -> dict:
        return {"approximate": "tanh" if _nn._Activation.get_config(self)["activation"] == "gelu_tanh" else "none"}


class SiLU(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("SiLU", "silu")

    def get_config(self) -> dict:
        return {}


class Sigmoid(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("Sigmoid", "sigmoid")

    def get_config(self) -> dict:
        return {}


class Tanh(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("Tanh", "tanh")

    def get_config(self) -> dict:
        return {}


class Softmax(_nn._Activation):
    def __init__(self, axis: int = -1) -> None:
        super().__init__("Softmax", "softmax", axis=axis)

    def get_config(self) -> dict:
        return {"axis": _nn._Activation.get_config(self)["axis"]}


class LogSoftmax(_nn._Activation):
    def __init__(self, axis: int = -1) -> None:
        super().__init__("LogSoftmax", "log_softmax", axis=axis)

    def get_config(self) -> dict:
        return {"axis": _nn._Activation.get_config(self)["axis"]}


class Activation(_nn._Activation):
    """Keras's ``Activation("relu")``: any activation by name."""

    def __init__(self, activation: str) -> None:
        super().__init__("Activation", activation)

    def get_config(self) -> dict:
        return {"activation": _nn._Activation.get_config(self)["activation"]}
