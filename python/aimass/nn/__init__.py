"""aimass.nn: modules, layers and losses (native, in csrc/nn) and their functional forms.

    model = am.nn.Sequential([am.nn.Conv2D(32, 3, activation="relu"), am.nn.MaxPool2D(2),
                              am.nn.Flatten(), am.nn.Dense(10)])
    logits = model(x)                  # weights are sized on the first call, as in Keras

    x = am.nn.Input(shape=(4,)); h = am.nn.Dense(8, activation="relu")(x)    # the functional API
    model = am.nn.Model(inputs=x, outputs=am.nn.Dense(3)(am.nn.Concatenate()([x, h])))
    loss = am.nn.functional.cross_entropy(logits, y)
    loss.backward()
"""
from __future__ import annotations

from . import functional, init  # noqa: F401
from .layers import (  # noqa: F401
    GELU,
    Activation,
    AvgPool2D,
    BatchNorm1D,
    BatchNorm2D,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    FakeQuantConv2D,
    FakeQuantDense,
    Flatten,
    GlobalAveragePooling2D,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2D,
    MultiHeadAttention,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedEmbedding,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    WeightOnlyDense,
    TransformerBlock,
)
from .losses import (  # noqa: F401
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    DistillationLoss,
    HuberLoss,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivLoss,
    L1Loss,
    Loss,
    MSELoss,
    SparseCategoricalCrossentropy,
)
from .module import Module, Parameter  # noqa: F401
from .registry import register_serializable  # noqa: F401
from .functional_api import (  # noqa: F401,E402  (Keras's functional API)
    Add,
    Average,
    Concatenate,
    Input,
    Maximum,
    Minimum,
    Model,
    Multiply,
    Subtract,
)
from . import callbacks, model, serialization, summary  # noqa: F401,E402  (compile / fit / save / summary on Module)
