"""aimass.onnx: export float and quantised models to ONNX, checked against the model by ONNX Runtime.

    import aimass as am
    model = am.nn.Sequential([am.nn.Conv2D(8, 3, padding="same", activation="relu"),
                              am.nn.Flatten(), am.nn.Dense(10)])
    model.build((None, 1, 8, 8))
    am.onnx.export(model, "model.onnx")            # batch axis symbolic ("batch"), opset 17
    am.onnx.export(model, "model.onnx", input_shape=(1, 8, 8), dynamic_batch=False)

The graph is written with the ``onnx`` package and, with check=True (the default), passed
through onnx.checker and run by ONNX Runtime (CPUExecutionProvider) on random inputs; outputs
that differ from ``model.predict`` by more than 1e-4 (quantised models: below) raise, and
nothing is written. The file is written atomically (a temporary file renamed over the target).

Layers exported (python/aimass/onnx/_layers.py, one converter per layer type): Dense, Conv1D,
Conv2D (strides, dilation, groups, padding "same" / "valid" / ints), MaxPool2D, AvgPool2D,
GlobalAveragePooling2D, BatchNorm1D / BatchNorm2D (running statistics), LayerNorm, Dropout
(identity), Flatten, Reshape, Embedding, the activation layers (ReLU, LeakyReLU, GELU exact and
tanh, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax, Activation(name)) and every layer's fused
``activation=``, MultiHeadAttention (self-attention, decomposed into MatMul / Softmax /
Transpose), TransformerBlock, the merge layers (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate), am.quant's QuantizedDense, QuantizedConv2D and WeightOnlyDense (below),
nested Sequential and functional Models. A model is exported in eval semantics: dropout is the
identity and batch normalisation uses the running statistics.
Anything else (a Module subclass with a Python forward) raises NotImplementedError naming it.

Quantised models (am.quant) export with their integer weights kept integers:

    q = am.quant.quantize(model, calibration=x_val)
    am.onnx.export(q, "model_int8.onnx")                     # about 1/4 of the float file's weights
    am.onnx.export(am.quant.quantize_weight_only(model, bits=4), "model_int4.onnx", opset=21)

  QuantizedConv2D, static QuantizedDense: QDQ, QuantizeLinear / DequantizeLinear of the input
    (uint8, the calibrated scale and zero point) and a per-channel DequantizeLinear of the int8
    weights, then Conv / MatMul + Add and the activation; ONNX Runtime fuses it into QLinearConv,
    QGemm or MatMulIntegerToFloat. Equal to predict but where a value rounds the other way (a
    rounding tie, or ORT requantising a fused kernel's output itself): about one quantisation
    step, 0.3% of the output range on the digits CNN, with every argmax equal.
  dynamic QuantizedDense: DynamicQuantizeLinear + MatMulInteger (int8 weights) + the scale Mul,
    as ONNX Runtime's own quantize_dynamic writes it (fused into DynamicQuantizeMatMul). ONNX
    quantises the input per tensor, the native kernel per row: outputs differ by about one input
    quantisation step (0.2 to 0.7% of the output range on the digits models, ~1% on random
    inputs); the export's check allows 5%.
  WeightOnlyDense (int4 / int8, one scale per group): opset 21 stores INT4 / INT8 weights with a
    blocked DequantizeLinear (block_size = group_size; float32 scales, the float16 ones widened
    exactly), which ONNX Runtime fuses into MatMulNBits. Below opset 21 DequantizeLinear has no
    block_size, so the weights are dequantised at export into float32 initializers (the same
    values; the file is as large as a float one). MatMulNBits runs on int8-quantised activations
    by default in ONNX Runtime (session.qdq_matmulnbits_accuracy_level 4: 0.2 to 0.5% of the
    output range); level 1 computes in float32 (error ~1e-5), as the export's check does.

Needs ``pip install onnx onnxruntime``.
"""
from __future__ import annotations

from ._export import export

__all__ = ["export"]
