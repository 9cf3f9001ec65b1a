"""The native layers, re-exported, and the activation layers (Python subclasses of one native
activation layer, so they run natively too). Every layer's get_config() is the native one
(Module::config, csrc/nn/config.h): the activation layers record their own constructor's
arguments there too."""
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
FakeQuantConv2D = _nn.FakeQuantConv2D  # am.quant.prepare_qat's layers (csrc/nn/qat.h)
FakeQuantDense = _nn.FakeQuantDense
Flatten = _nn.Flatten
GlobalAveragePooling2D = _nn.GlobalAveragePooling2D
LayerNorm = _nn.LayerNorm
MaxPool2D = _nn.MaxPool2D
MultiHeadAttention = _nn.MultiHeadAttention
QuantizedConv2D = _nn.QuantizedConv2D  # am.quant's int8 layers (csrc/nn/quantized.h)
QuantizedDense = _nn.QuantizedDense
QuantizedEmbedding = _nn.QuantizedEmbedding
Reshape = _nn.Reshape
Sequential = _nn.Sequential
TransformerBlock = _nn.TransformerBlock
WeightOnlyDense = _nn.WeightOnlyDense

Linear = Dense  # PyTorch's name


class ReLU(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("ReLU", "relu")


class LeakyReLU(_nn._Activation):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__("LeakyReLU", "leaky_relu", negative_slope)


class GELU(_nn._Activation):
    """approximate="none" (erf) or "tanh"."""

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        super().__init__("GELU", "gelu" if approximate == "none" else "gelu_tanh")


class SiLU(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("SiLU", "silu")


class Sigmoid(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("Sigmoid", "sigmoid")


class Tanh(_nn._Activation):
    def __init__(self) -> None:
        super().__init__("Tanh", "tanh")


class Softmax(_nn._Activation):
    def __init__(self, axis: int = -1) -> None:
        super().__init__("Softmax", "softmax", axis=axis)


class LogSoftmax(_nn._Activation):
    def __init__(self, axis: int = -1) -> None:
        super().__init__("LogSoftmax", "log_softmax", axis=axis)


class Activation(_nn._Activation):
    """Keras's ``Activation("relu")``: any activation by name."""

    def __init__(self, activation: str) -> None:
        super().__init__("Activation", activation)


# ---------------------------------------------------------------------------------------------
# Keras's input_shape= / input_dim= on a layer: the layer is built at construction for inputs of
# that sample shape, and a Sequential whose first layer has one (or whose first entry is an
# am.nn.Input) is built at construction too, as Keras builds it. (Not Embedding: there Keras's
# input_dim is the vocabulary size, num_embeddings here.)

def _sample_shape(layer_name: str, input_shape, input_dim) -> tuple[int, ...] | None:
    if input_shape is not None and input_dim is not None:
        raise TypeError(f"{layer_name}: give input_shape or input_dim, not both")
    if input_dim is not None:
        return (int(input_dim),)
    if input_shape is None:
        return None
    shape = (int(input_shape),) if isinstance(input_shape, int) else tuple(int(d) for d in input_shape)
    if not shape or any(d <= 0 for d in shape):
        raise ValueError(f"{layer_name}: input_shape is one sample's shape (positive sizes, no batch), got {input_shape}")
    return shape


def _accepting_input_shape(cls) -> None:
    init = cls.__init__

    def __init__(self, *args, input_shape=None, input_dim=None, **kwargs):
        init(self, *args, **kwargs)
        shape = _sample_shape(cls.__name__, input_shape, input_dim)
        if shape is not None:
            self.build((None, *shape))
            object.__setattr__(self, "_input_shape", (None, *shape))

    __init__.__doc__ = init.__doc__
    cls.__init__ = __init__


for _cls in (AvgPool2D, BatchNorm1D, BatchNorm2D, Conv1D, Conv2D, Dense, Dropout, Flatten,
             GlobalAveragePooling2D, LayerNorm, MaxPool2D, Reshape, TransformerBlock, ReLU, LeakyReLU, GELU, SiLU,
             Sigmoid, Tanh, Softmax, LogSoftmax, Activation):
    _accepting_input_shape(_cls)


def _sequential_init(init):
    def __init__(self, layers=None, *args, **kwargs):
        from .functional_api import SymbolicTensor

        layers = list(layers) if layers is not None else None
        shape = None
        if layers and isinstance(layers[0], SymbolicTensor):  # Sequential([Input((4,)), Dense(8), ...])
            shape = layers.pop(0).shape
        elif layers and "_input_shape" in getattr(layers[0], "__dict__", {}):
            shape = layers[0].__dict__["_input_shape"]
        init(self, layers, *args, **kwargs)
        if shape is not None:
            self.build(shape)
            object.__setattr__(self, "_input_shape", tuple(shape))

    return __init__


Sequential.__init__ = _sequential_init(Sequential.__init__)
Sequential.layers = property(lambda self: list(self), doc="The layers, in order (Keras's model.layers).")
