"""One converter per layer type: CONVERTERS maps a layer class to a function

    convert(b: GraphBuilder, layer, xs: list[str], shapes: list[tuple], out_shape: tuple, name: str) -> str

xs are the ONNX names of the layer's inputs, shapes their concrete shapes on the export's
sample (batch first), out_shape the layer's output shape on that sample, name the layer's path
(used to name tensors); the function adds nodes to b and returns its output's name. Layouts
(each checked against predict by the tests): Dense weight (out, in), y = x W^T + b; Conv2D
weight (out, in / groups, kh, kw) on NCHW, Conv1D (out, in / groups, k) on NCL: ONNX's own;
am.quant's layers as described at their section below (tests/python/test_onnx_quant.py). A
class is looked up along its MRO (a Python subclass of ReLU is a ReLU), so an entry here covers
subclasses that do not override forward in Python (_export.py checks that).
"""
from __future__ import annotations

import math

import numpy as np

from .._core import nn as _nn
from ..nn import functional_api, layers
from ._builder import GraphBuilder


def _array(layer, key: str) -> np.ndarray:
    t = layer._parameter(key)
    if t is None:
        t = layer._buffer(key)
    return None if t is None else t.cpu().numpy()


# ---------------------------------------------------------------------------------------------
# activations (also the fused activation= of Dense, Conv)

def activation(b: GraphBuilder, kind: str | None, x: str, name: str, negative_slope: float = 0.01,
               axis: int = -1) -> str:
    if kind in (None, "linear", "none"):
        return x
    if kind == "relu":
        return b.op("Relu", [x], f"{name}.relu")
    if kind == "leaky_relu":
        return b.op("LeakyRelu", [x], f"{name}.leaky_relu", alpha=float(negative_slope))
    if kind == "sigmoid":
        return b.op("Sigmoid", [x], f"{name}.sigmoid")
    if kind == "tanh":
        return b.op("Tanh", [x], f"{name}.tanh")
    if kind == "softmax":
        return b.op("Softmax", [x], f"{name}.softmax", axis=int(axis))
    if kind == "log_softmax":
        return b.op("LogSoftmax", [x], f"{name}.log_softmax", axis=int(axis))
    if kind == "silu":  # x * sigmoid(x)
        return b.op("Mul", [x, b.op("Sigmoid", [x], f"{name}.sigmoid")], f"{name}.silu")
    if kind in ("gelu", "gelu_tanh"):
        if b.opset >= 20:
            return b.op("Gelu", [x], f"{name}.gelu", approximate="none" if kind == "gelu" else "tanh")
        half_x = b.op("Mul", [x, b.const(0.5)], f"{name}.half_x")
        if kind == "gelu":  # 0.5 x (1 + erf(x / sqrt 2))
            inner = b.op("Erf", [b.op("Mul", [x, b.const(1 / math.sqrt(2))], f"{name}.scaled")], f"{name}.erf")
        else:  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
            cube = b.op("Mul", [b.op("Mul", [x, x], f"{name}.x2"), x], f"{name}.x3")
            poly = b.op("Add", [x, b.op("Mul", [cube, b.const(0.044715)], f"{name}.cx3")], f"{name}.poly")
            inner = b.op("Tanh", [b.op("Mul", [poly, b.const(math.sqrt(2 / math.pi))], f"{name}.scaled")],
                         f"{name}.tanh")
        return b.op("Mul", [half_x, b.op("Add", [inner, b.const(1.0)], f"{name}.one_plus")], f"{name}.gelu")
    raise NotImplementedError(f"{name}: the activation {kind!r} has no ONNX export")


_ACTIVATION_OF_CLASS = {"ReLU": "relu", "LeakyReLU": "leaky_relu", "SiLU": "silu", "Sigmoid": "sigmoid",
                        "Tanh": "tanh", "Softmax": "softmax", "LogSoftmax": "log_softmax"}


def activation_layer(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    cls = next((c.__name__ for c in type(layer).__mro__ if c.__module__ == layers.__name__), "Activation")
    if cls == "GELU":
        kind = "gelu" if config.get("approximate", "none") == "none" else "gelu_tanh"
    elif cls == "Activation":
        kind = config["activation"]
    else:
        kind = _ACTIVATION_OF_CLASS[cls]
    return activation(b, kind, xs[0], name, negative_slope=config.get("negative_slope", 0.01),
                      axis=config.get("axis", -1))


# ---------------------------------------------------------------------------------------------
# Dense, convolution

def dense_matmul(b: GraphBuilder, x: str, rank: int, weight: np.ndarray, bias: np.ndarray | None, name: str) -> str:
    """x (..., in) @ weight (out, in)^T + bias: Gemm for a 2-D x, MatMul + Add otherwise."""
    w = b.weight(weight, f"{name}.weight", role="kernel")
    if rank == 2:
        inputs = [x, w] + ([b.weight(bias, f"{name}.bias", role="bias")] if bias is not None else [])
        return b.op("Gemm", inputs, f"{name}.gemm", transB=1)
    y = b.op("MatMul", [x, b.op("Transpose", [w], f"{name}.weight_t", perm=[1, 0])], f"{name}.matmul")
    if bias is None:
        return y
    return b.op("Add", [y, b.weight(bias, f"{name}.bias", role="bias")], f"{name}.add")


def dense(b, layer, xs, shapes, out_shape, name):
    y = dense_matmul(b, xs[0], len(shapes[0]), _array(layer, "weight"), _array(layer, "bias"), name)
    return activation(b, layer.get_config()["activation"], y, name)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """As csrc/ops/conv.cpp same_padding: the extra pixel (odd total) at the end."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv_attrs(config: dict, spatial: tuple, one_d: bool) -> dict:
    """The Conv node's attributes for a Conv1D / Conv2D / QuantizedConv2D config on an input of
    the given spatial shape ("same" padded as the native layer pads it)."""
    as_tuple = (lambda v: (v,)) if one_d else tuple
    kernel, strides, dilation = (as_tuple(config[k]) for k in ("kernel_size", "strides", "dilation"))
    padding = config["padding"]
    if padding == "same":
        begin, end = zip(*(_same_padding(s, k, st, d) for s, k, st, d in zip(spatial, kernel, strides, dilation)))
    elif padding == "valid":
        begin = end = (0,) * len(kernel)
    else:
        begin = end = as_tuple(padding)
    return {"kernel_shape": list(kernel), "strides": list(strides), "dilations": list(dilation),
            "pads": [*begin, *end], "group": int(config.get("groups", 1))}


def conv(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    inputs = [xs[0], b.weight(_array(layer, "weight"), f"{name}.weight", role="kernel")]
    bias = _array(layer, "bias")
    if bias is not None:
        inputs.append(b.weight(bias, f"{name}.bias", role="bias"))
    y = b.op("Conv", inputs, f"{name}.conv", **conv_attrs(config, shapes[0][2:], isinstance(layer, _nn.Conv1D)))
    return activation(b, config["activation"], y, name)


# ---------------------------------------------------------------------------------------------
# pooling, normalisation, shape layers

def pool(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    attrs = {"kernel_shape": list(config["pool_size"]), "strides": list(config["strides"]),
             "pads": list(config["padding"]) * 2, "ceil_mode": int(config["ceil_mode"])}
    if isinstance(layer, _nn.MaxPool2D):
        return b.op("MaxPool", xs, f"{name}.maxpool", **attrs)
    return b.op("AveragePool", xs, f"{name}.avgpool", count_include_pad=int(config["count_include_pad"]), **attrs)


def global_average_pool(b, layer, xs, shapes, out_shape, name):
    y = b.op("GlobalAveragePool", xs, f"{name}.pool")  # (N, C, 1, 1)
    return y if layer.get_config()["keepdims"] else b.op("Flatten", [y], f"{name}.flatten", axis=1)


def batch_norm(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    if not config["track_running_stats"]:
        raise NotImplementedError(f"{name} ({type(layer).__name__}): track_running_stats=False normalises with the "
                                  f"batch's statistics even in eval mode, which ONNX's BatchNormalization cannot "
                                  f"express")
    c = shapes[0][1]
    scale, bias = _array(layer, "weight"), _array(layer, "bias")
    scale = np.ones(c, np.float32) if scale is None else scale
    bias = np.zeros(c, np.float32) if bias is None else bias
    inputs = [xs[0], b.weight(scale, f"{name}.weight", "scale"), b.weight(bias, f"{name}.bias", "bias"),
              b.weight(_array(layer, "running_mean"), f"{name}.running_mean", "mean"),
              b.weight(_array(layer, "running_var"), f"{name}.running_var", "var")]
    return b.op("BatchNormalization", inputs, f"{name}.batchnorm", epsilon=float(config["eps"]))


def layer_norm_arrays(b: GraphBuilder, x: str, normalized: tuple, weight, bias, eps: float, name: str) -> str:
    if b.opset < 17:
        raise NotImplementedError(f"{name} (LayerNorm): needs opset 17 or later (LayerNormalization), got {b.opset}")
    weight = np.ones(normalized, np.float32) if weight is None else weight
    bias = np.zeros(normalized, np.float32) if bias is None else bias
    return b.op("LayerNormalization", [x, b.weight(weight, f"{name}.weight", "scale"),
                                       b.weight(bias, f"{name}.bias", "bias")],
                f"{name}.layernorm", axis=-len(normalized), epsilon=float(eps))


def layer_norm(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    return layer_norm_arrays(b, xs[0], tuple(config["normalized_shape"]), _array(layer, "weight"),
                             _array(layer, "bias"), config["eps"], name)


def identity(b, layer, xs, shapes, out_shape, name):
    return b.op("Identity", xs, f"{name}.identity")  # Dropout: eval semantics


def reshape_to_sample(b, layer, xs, shapes, out_shape, name):
    """Flatten and Reshape: the output's per-sample shape is fixed; 0 keeps the (symbolic) batch."""
    rank = len(shapes[0])
    merges_batch = isinstance(layer, _nn.Flatten) and rank > 1 and layer.get_config()["start_axis"] % rank == 0
    target = [-1 if merges_batch else 0, *out_shape[1:]]  # Flatten(start_axis=0) folds the batch in
    return b.op("Reshape", [xs[0], b.ints(target, f"{name}.shape")], f"{name}.reshape")


def embedding(b, layer, xs, shapes, out_shape, name):
    ids = b.op("Cast", xs, f"{name}.ids", to=b.onnx.TensorProto.INT64)
    return b.op("Gather", [b.weight(_array(layer, "weight"), f"{name}.weight", role="table"), ids], f"{name}.gather",
                axis=0)


# ---------------------------------------------------------------------------------------------
# attention

def attention(b: GraphBuilder, layer, x: str, shape: tuple, name: str, causal: bool = False) -> str:
    """Self-attention on x (B, T, E), as csrc/nn/attention.cpp attend: q scaled by 1/sqrt(Dh) after its
    projection, heads split as (B, T, H, Dh) -> (B, H, T, Dh)."""
    config = layer.get_config()
    e, h = config["embed_dim"], config["num_heads"]
    t, dh = shape[1], e // h

    def project(proj: str) -> str:
        return _projection(b, layer._child(proj), x, f"{name}.{proj}")

    heads = b.ints([0, 0, h, dh], f"{name}.heads_shape")

    def split(y: str, perm: list[int], what: str) -> str:
        return b.op("Transpose", [b.op("Reshape", [y, heads], f"{name}.{what}_heads")], f"{name}.{what}_t", perm=perm)

    q = b.op("Mul", [project("q_proj"), b.const(1.0 / math.sqrt(dh))], f"{name}.q_scaled")
    q = split(q, [0, 2, 1, 3], "q")                    # (B, H, T, Dh)
    k = split(project("k_proj"), [0, 2, 3, 1], "k")    # (B, H, Dh, T)
    v = split(project("v_proj"), [0, 2, 1, 3], "v")    # (B, H, T, Dh)
    scores = b.op("MatMul", [q, k], f"{name}.scores")  # (B, H, T, T)
    if causal:  # query i sees keys j <= i
        mask = np.where(np.arange(t)[None, :] > np.arange(t)[:, None], -np.inf, 0.0).astype(np.float32)
        scores = b.op("Add", [scores, b.const(mask, f"{name}.causal_mask")], f"{name}.masked")
    probs = b.op("Softmax", [scores], f"{name}.probs", axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v], f"{name}.context")], f"{name}.context_t", perm=[0, 2, 1, 3])
    ctx = b.op("Reshape", [ctx, b.ints([0, 0, e], f"{name}.merge_shape")], f"{name}.merged")  # (B, T, E)
    return _projection(b, layer._child("out_proj"), ctx, f"{name}.out_proj")


def _projection(b: GraphBuilder, child, x: str, name: str) -> str:
    """A projection of an attention layer or block (3-D x), with its activation: a Dense as MatMul
    + Add, or a QuantizedDense (quantized=True, from am.quant.quantize_dynamic) as DynamicQuantizeLinear
    + MatMulInteger, as quantized_dense writes it."""
    if type(child) is _nn.QuantizedDense:
        return quantized_dense(b, child, [x], None, None, name)
    y = dense_matmul(b, x, 3, _array(child, "weight"), _array(child, "bias"), name)
    return activation(b, child.get_config()["activation"], y, name)


def multi_head_attention(b, layer, xs, shapes, out_shape, name):
    return attention(b, layer, xs[0], shapes[0], name)


def transformer_block(b, layer, xs, shapes, out_shape, name):
    """Pre-norm: y = x + attn(ln1(x)); y + fc2(fc1(ln2(y))), as csrc/nn/attention.cpp."""
    config = layer.get_config()
    x, e = xs[0], config["embed_dim"]

    def norm(child: str, v: str) -> str:
        ln = layer._child(child)
        return layer_norm_arrays(b, v, (e,), _array(ln, "weight"), _array(ln, "bias"), config["eps"], f"{name}.{child}")

    def fc(child: str, v: str) -> str:
        return _projection(b, layer._child(child), v, f"{name}.{child}")

    h = attention(b, layer._child("attn"), norm("ln1", x), shapes[0], f"{name}.attn", causal=config["causal"])
    y = b.op("Add", [x, h], f"{name}.residual1")
    return b.op("Add", [y, fc("fc2", fc("fc1", norm("ln2", y)))], f"{name}.residual2")


# ---------------------------------------------------------------------------------------------
# am.quant's layers (csrc/nn/quantized.h): the integer weights stay integers in the file
#
# QuantizedConv2D and static QuantizedDense as QDQ: the input goes through QuantizeLinear /
# DequantizeLinear with the calibrated (scale, uint8 zero point), the int8 weights through a
# per-axis DequantizeLinear (axis 0 of the Conv weight (F, C, KH, KW); axis 1 of the Dense weight
# stored transposed (in, units) for MatMul), then the float Conv / MatMul + Add and the
# activation. ONNX Runtime fuses the pattern into its int8 kernels (QLinearConv,
# MatMulIntegerToFloat). Both round x / scale half to even and saturate to [0, 255], as the
# native kernels do; outputs differ from predict only where a value sits on a rounding tie.
#
# Dynamic QuantizedDense as ONNX Runtime's own quantize_dynamic writes it: DynamicQuantizeLinear
# (uint8, the same scale / zero point formula as the native kernel, but per tensor where the
# kernel quantises per row), MatMulInteger with the int8 weights (in, units), Cast, Mul by
# input_scale * weight_scale, Add bias; ONNX Runtime fuses it into DynamicQuantizeMatMul. The
# int8 projections of MultiHeadAttention / TransformerBlock(quantized=True) are written the same way.
#
# WeightOnlyDense at opset >= 21: the weights as INT4 / INT8 (in, units) with one float32 scale per
# group of group_size inputs, a blocked DequantizeLinear (axis 0, block_size = group_size, which
# ONNX Runtime fuses into MatMulNBits for int4), then MatMul. Below opset 21 DequantizeLinear has
# no block_size (nor int4): the weights are dequantised at export into a float32 initializer,
# exactly the values the native kernel multiplies by, so such a file is as large as a float one.

def _static_input(b: GraphBuilder, layer, x: str, name: str) -> str:
    """x through QuantizeLinear / DequantizeLinear with the layer's calibrated (scale, zero point)."""
    scale = b.const(np.float32(_array(layer, "input_scale").reshape(-1)[0]), f"{name}.input_scale")
    zero = b.int_weight(np.uint8(_array(layer, "input_zero_point").reshape(-1)[0]), f"{name}.input_zero_point",
                        "uint8")
    q = b.op("QuantizeLinear", [x, scale, zero], f"{name}.input_q")
    return b.op("DequantizeLinear", [q, scale, zero], f"{name}.input_dq")


def _int8_weight(b: GraphBuilder, q: np.ndarray, scale: np.ndarray, axis: int, name: str) -> str:
    """DequantizeLinear of the int8 weights q with per-channel scale (len q.shape[axis]) along axis."""
    scale = b.weight(scale.astype(np.float32), f"{name}.weight_scale", role="scale")
    zero = b.int_weight(np.zeros(q.shape[axis], np.int8), f"{name}.weight_zero_point")
    return b.op("DequantizeLinear", [b.int_weight(q, f"{name}.weight_q"), scale, zero], f"{name}.weight_dq", axis=axis)


def _add_bias(b: GraphBuilder, layer, y: str, name: str) -> str:
    bias = _array(layer, "bias")
    return y if bias is None else b.op("Add", [y, b.weight(bias, f"{name}.bias", role="bias")], f"{name}.add")


def quantized_dense(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    w_t = np.ascontiguousarray(_array(layer, "weight").T)  # (in, units) int8, as MatMul takes it
    w_scale = _array(layer, "weight_scale").astype(np.float32)
    if config["activations"] == "static":
        x = _static_input(b, layer, xs[0], name)
        y = b.op("MatMul", [x, _int8_weight(b, w_t, w_scale, 1, name)], f"{name}.matmul")
    else:
        q, a_scale, a_zero = b.ops("DynamicQuantizeLinear", [xs[0]],
                                   [f"{name}.input_q", f"{name}.input_scale", f"{name}.input_zero_point"])
        acc = b.op("MatMulInteger", [q, b.int_weight(w_t, f"{name}.weight_q"), a_zero], f"{name}.matmul_integer")
        scale = b.op("Mul", [a_scale, b.weight(w_scale, f"{name}.weight_scale", role="scale")], f"{name}.scale")
        y = b.op("Mul", [b.op("Cast", [acc], f"{name}.acc_float", to=b.onnx.TensorProto.FLOAT), scale],
                 f"{name}.dequantized")
    return activation(b, config["activation"], _add_bias(b, layer, y, name), name)


def quantized_conv(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    x = _static_input(b, layer, xs[0], name)
    inputs = [x, _int8_weight(b, _array(layer, "weight"), _array(layer, "weight_scale"), 0, name)]
    bias = _array(layer, "bias")
    if bias is not None:
        inputs.append(b.weight(bias, f"{name}.bias", role="bias"))
    y = b.op("Conv", inputs, f"{name}.conv", **conv_attrs(config, shapes[0][2:], one_d=False))
    return activation(b, config["activation"], y, name)


def weight_only_values(layer) -> tuple[np.ndarray, np.ndarray]:
    """WeightOnlyDense's weights as signed integers (units, in) (int8 in [-127, 127], int4 in [-8, 7])
    and float32 scales (units, groups), from the layouts of csrc/quant/weight_only.h: w ~ q * d."""
    config = layer.get_config()
    k, group, bits = config["in_features"], config["group_size"], config["bits"]
    q = _array(layer, "weight_q")                                     # (units, row_bytes) uint8
    scales = _array(layer, "weight_scales").astype(np.float32)        # (units, groups) float16: exact
    n, groups = scales.shape
    if bits == 8:
        values = q.view(np.int8)
    else:  # byte i of a group: element i in the low nibble, element i + group / 2 in the high one
        q = q.reshape(n, groups, group // 2)
        values = (np.concatenate([q & 0x0F, q >> 4], axis=-1).astype(np.int8) - 8).reshape(n, groups * group)
    return values[:, :k], scales


def weight_only_dense(b, layer, xs, shapes, out_shape, name):
    config = layer.get_config()
    values, scales = weight_only_values(layer)
    group = config["group_size"]
    if b.opset >= 21:
        w_q = b.int_weight(np.ascontiguousarray(values.T), f"{name}.weight_q",
                           "int4" if config["bits"] == 4 else "int8")                 # (in, units)
        w_s = b.weight(np.ascontiguousarray(scales.T), f"{name}.weight_scale", role="scale")  # (groups, units)
        w = b.op("DequantizeLinear", [w_q, w_s], f"{name}.weight_dq", axis=0, block_size=int(group))
        y = _add_bias(b, layer, b.op("MatMul", [xs[0], w], f"{name}.matmul"), name)
    else:
        w = values.astype(np.float32) * np.repeat(scales, group, axis=1)[:, :values.shape[1]]
        y = dense_matmul(b, xs[0], len(shapes[0]), w, _array(layer, "bias"), name)
    return activation(b, config["activation"], y, name)


# ---------------------------------------------------------------------------------------------
# merge layers of the functional API

_VARIADIC = {"add": "Sum", "multiply": "Mul", "maximum": "Max", "minimum": "Min"}


def elementwise_merge(b, layer, xs, shapes, out_shape, name):
    op = layer._op
    if op == "subtract":
        return b.op("Sub", xs, f"{name}.sub")
    if op == "average":
        total = b.op("Sum", xs, f"{name}.sum")
        return b.op("Mul", [total, b.const(1.0 / len(xs))], f"{name}.average")
    if op == "multiply" and len(xs) > 2:  # Mul takes two inputs
        y = xs[0]
        for x in xs[1:]:
            y = b.op("Mul", [y, x], f"{name}.mul")
        return y
    return b.op(_VARIADIC[op], xs, f"{name}.{op}")


def concatenate(b, layer, xs, shapes, out_shape, name):
    return b.op("Concat", xs, f"{name}.concat", axis=int(layer.get_config()["axis"]))


CONVERTERS = {
    _nn.Dense: dense,
    _nn.Conv2D: conv,  # Conv1D too (a subclass)
    _nn.MaxPool2D: pool,
    _nn.AvgPool2D: pool,
    _nn.GlobalAveragePooling2D: global_average_pool,
    _nn.BatchNorm1D: batch_norm,
    _nn.BatchNorm2D: batch_norm,
    _nn.LayerNorm: layer_norm,
    _nn.Dropout: identity,
    _nn.Flatten: reshape_to_sample,
    _nn.Reshape: reshape_to_sample,
    _nn.Embedding: embedding,
    _nn._Activation: activation_layer,
    _nn.MultiHeadAttention: multi_head_attention,
    _nn.TransformerBlock: transformer_block,
    functional_api._ElementwiseMergeLayer: elementwise_merge,
    _nn.Concatenate: concatenate,
    _nn.QuantizedDense: quantized_dense,
    _nn.QuantizedConv2D: quantized_conv,
    _nn.WeightOnlyDense: weight_only_dense,
}

SUPPORTED = ("Dense", "Conv1D", "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAveragePooling2D", "BatchNorm1D",
             "BatchNorm2D", "LayerNorm", "Dropout", "Flatten", "Reshape", "Embedding", "ReLU", "LeakyReLU", "GELU",
             "SiLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Activation", "MultiHeadAttention",
             "TransformerBlock", "QuantizedDense", "QuantizedConv2D", "WeightOnlyDense", "Add", "Subtract",
             "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Sequential", "Model")


def converter_for(layer):
    for cls in type(layer).__mro__:
        if cls in CONVERTERS:
            return CONVERTERS[cls]
    return None
