"""aimass.nn: modules, layers and losses (native, in csrc/nn) and their functional forms.

    model = am.nn.Sequential([am.nn.Conv2D(32, 3, activation="relu"), am.nn.MaxPool2D(2),
                              am.nn.Flatten(), am.nn.Dense(10)])
    logits = model(x)                  # weights are sized on the first call, as in Keras
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
    Flatten,
    GlobalAveragePooling2D,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2D,
    MultiHeadAttention,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    TransformerBlock,
)
from .losses import (  # noqa: F401
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    DistillationLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    Loss,
    MSELoss,
)
from .module import Module, Parameter  # noqa: F401
from .registry import register_serializable  # noqa: F401
from . import callbacks, model, serialization  # noqa: F401,E402  (compile / fit / save on Module)
