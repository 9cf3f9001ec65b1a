"""aimass.onnx: export float models to ONNX, checked against the model by ONNX Runtime.

    import aimass as am
    model = am.nn.Sequential([am.nn.Conv2D(8, 3, padding="same", activation="relu"),
                              am.nn.Flatten(), am.nn.Dense(10)])
    model.build((None, 1, 8, 8))
    am.onnx.export(model, "model.onnx")            # batch axis symbolic ("batch"), opset 17
    am.onnx.export(model, "model.onnx", input_shape=(1, 8, 8), dynamic_batch=False)

The graph is written with the ``onnx`` package and, with check=True (the default), passed
through onnx.checker and run by ONNX Runtime (CPUExecutionProvider) on random inputs; outputs
that differ from ``model.predict`` by more than 1e-4 raise, and nothing is written. The file is
written atomically (a temporary file renamed over the target).

Layers exported (python/aimass/onnx/_layers.py, one converter per layer type): Dense, Conv1D,
Conv2D (strides, dilation, groups, padding "same" / "valid" / ints), MaxPool2D, AvgPool2D,
GlobalAveragePooling2D, BatchNorm1D / BatchNorm2D (running statistics), LayerNorm, Dropout
(identity), Flatten, Reshape, Embedding, the activation layers (ReLU, LeakyReLU, GELU exact and
tanh, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax, Activation(name)) and every layer's fused
``activation=``, MultiHeadAttention (self-attention, decomposed into MatMul / Softmax /
Transpose), TransformerBlock, the merge layers (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate), nested Sequential and functional Models. A model is exported in eval
semantics: dropout is the identity and batch normalisation uses the running statistics.
Anything else (a Module subclass with a Python forward) raises NotImplementedError naming it.

Needs ``pip install onnx onnxruntime``.
"""
from __future__ import annotations

from ._export import export

__all__ = ["export"]
