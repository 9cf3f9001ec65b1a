"""am.onnx.export of am.quant's models: each quantised layer kind (QuantizedConv2D and static
QuantizedDense as QDQ, dynamic QuantizedDense as DynamicQuantizeLinear + MatMulInteger,
WeightOnlyDense int4 / int8 as a blocked DequantizeLinear at opset 21 and float weights below)
and whole quantised digits CNNs and MLPs, run by ONNX Runtime against model.predict at opsets
13, 17 and 21; the graphs hold QuantizeLinear / DequantizeLinear and integer initializers, and
the files are smaller than the float export.

Tolerances (and why):
  static int8 (QDQ): one layer: one quantisation step of the input times the largest |weight|
    (a value on a rounding tie may round the other way); measured ~1e-6. Whole models: 1% of
    max |output| (ORT also requantises the fused kernels' outputs itself); measured 0.3%.
  dynamic int8: 5% of max |output| (ONNX quantises the input per tensor, the native kernel per
    row: each differs by about half an input step per element); measured 1% on random inputs,
    0.2 to 0.7% on the digits models.
  weight-only: 1e-4 with ONNX Runtime's MatMulNBits at accuracy level 1 (float32: the same
    weights the native kernel multiplies by); 3% of max |output| at ORT's default level 4,
    which quantises the activations to int8 per block (measured 0.2 to 0.5%).
  whole models: argmax agreement with model.predict >= 99% on the digits test set (450 samples).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import aimass as am
from aimass._demo import build_model, load_digits_dataset

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
nn = am.nn

OPSETS = (13, 17, 21)
FLOAT_MATMULNBITS = {"session.qdq_matmulnbits_accuracy_level": "1"}


def _run(path, x, config=None):
    options = ort.SessionOptions()
    for k, v in (config or {}).items():
        options.add_session_config_entry(k, v)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _ops(proto) -> set[str]:
    return {n.op_type for n in proto.graph.node}


def _int_initializers(proto) -> dict[str, int]:
    """name -> ONNX element type of the integer initializers with more than one element."""
    ints = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT4}
    return {t.name: t.data_type for t in proto.graph.initializer if t.data_type in ints and np.prod(t.dims) > 1}


def _x(shape, n=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, *shape)).astype(np.float32)


# ------------------------------------------------------------------------------- one layer each

# (id, float layer, per-sample input shape, how it is quantised)
LAYERS = [
    ("static_dense_relu", lambda: nn.Dense(24, activation="relu"), (40,), "static"),
    ("static_dense_3d_tanh", lambda: nn.Dense(12, activation="tanh"), (5, 32), "static"),
    ("static_dense_no_bias", lambda: nn.Dense(16, use_bias=False), (32,), "static"),
    ("dynamic_dense", lambda: nn.Dense(24), (40,), "dynamic"),
    ("dynamic_dense_3d_relu", lambda: nn.Dense(16, activation="relu"), (4, 32), "dynamic"),
    ("conv_same_relu", lambda: nn.Conv2D(8, 3, padding="same", activation="relu"), (4, 7, 7), "static"),
    ("conv_same_stride2_even_kernel", lambda: nn.Conv2D(6, 4, strides=2, padding="same"), (3, 9, 8), "static"),
    ("conv_pad_dilation_sigmoid", lambda: nn.Conv2D(5, (3, 2), padding=(1, 2), dilation=2, activation="sigmoid"),
     (4, 9, 9), "static"),
    ("int4_g32", lambda: nn.Dense(24, activation="relu"), (64,), "int4-32"),
    ("int4_ragged_k", lambda: nn.Dense(8), (40,), "int4-32"),        # K = 40: the last group padded
    ("int8_g64_3d", lambda: nn.Dense(16), (3, 128), "int8-64"),
]


def _quantise(model, how, x):
    if how == "static":
        return am.quant.quantize(model, x, min_layer_size=0)
    if how == "dynamic":
        return am.quant.quantize_dynamic(model, min_layer_size=0)
    bits, group = (int(v) for v in how[3:].split("-"))
    return am.quant.quantize_weight_only(model, bits=bits, group_size=group)


def _one_input_step_bound(q) -> float:
    """input_scale * max |dequantised weight|: what one input rounding the other way moves an output."""
    layer = q[0]
    state = {k: v.numpy() for k, v in layer.state_dict().items()}
    w = state["weight"].reshape(state["weight"].shape[0], -1).astype(np.float32) * state["weight_scale"][:, None]
    return float(state["input_scale"][0] * np.abs(w).max())


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("make, shape, how", [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_exports_and_matches_predict(tmp_path, make, shape, how, opset):
    am.manual_seed(0)
    model = nn.Sequential([make()])
    x = _x(shape, 32)
    model(am.asarray(x[:2]))
    q = _quantise(model, how, x)
    kind = type(q[0]).__name__
    assert kind in ("QuantizedDense", "QuantizedConv2D", "WeightOnlyDense"), str(q.quantization_report)
    path = tmp_path / "q.onnx"
    proto = am.onnx.export(q, path, opset=opset)          # its own check against predict passes
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ops, ints = _ops(proto), _int_initializers(proto)
    x_test = _x(shape, 7, seed=1)
    expected = q.predict(x_test)
    scale = float(np.abs(expected).max())

    if how == "static":
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops
        assert ("Conv" if kind == "QuantizedConv2D" else "MatMul") in ops
        assert onnx.TensorProto.INT8 in ints.values()
        dq_axes = {a.i for n in proto.graph.node if n.op_type == "DequantizeLinear" for a in n.attribute
                   if a.name == "axis"}
        assert dq_axes == {0 if kind == "QuantizedConv2D" else 1}   # per output channel
        err = float(np.abs(_run(path, x_test) - expected).max())
        assert err <= _one_input_step_bound(q) + 1e-5, err
    elif how == "dynamic":
        assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
        assert list(ints.values()) == [onnx.TensorProto.INT8]
        err = float(np.abs(_run(path, x_test) - expected).max())
        assert err <= 0.05 * scale, err
    else:
        exact = float(np.abs(_run(path, x_test, FLOAT_MATMULNBITS) - expected).max())
        assert exact < 1e-4
        default = float(np.abs(_run(path, x_test) - expected).max())
        if opset >= 21:
            assert "DequantizeLinear" in ops and "MatMul" in ops
            (dq,) = [n for n in proto.graph.node if n.op_type == "DequantizeLinear"]
            assert {a.name: a.i for a in dq.attribute} == {"axis": 0, "block_size": int(how.split("-")[1])}
            assert list(ints.values()) == [onnx.TensorProto.INT4 if how.startswith("int4") else onnx.TensorProto.INT8]
            assert default <= 0.03 * scale, default
        else:  # no block_size below opset 21: float32 weights
            assert not ints and "DequantizeLinear" not in ops
            assert default < 1e-4


def test_static_conv_is_fused_by_onnx_runtime(tmp_path):
    """ONNX Runtime turns the QDQ pattern into its int8 kernels (QLinearConv / QGemm / MatMul...)."""
    am.manual_seed(0)
    model = nn.Sequential([nn.Conv2D(8, 3, padding="same", activation="relu"), nn.Flatten(), nn.Dense(32)])
    x = _x((4, 6, 6), 32)
    model(am.asarray(x[:2]))
    q = am.quant.quantize(model, x, min_layer_size=0)
    am.onnx.export(q, tmp_path / "q.onnx")
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "opt.onnx")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    ort.InferenceSession(str(tmp_path / "q.onnx"), options, providers=["CPUExecutionProvider"])
    fused = _ops(onnx.load(str(tmp_path / "opt.onnx")))
    assert "QLinearConv" in fused or "QGemm" in fused or "MatMulIntegerToFloat" in fused, fused


# ------------------------------------------------------------------------------- whole models

@pytest.fixture(scope="module")
def digits():
    x, y = load_digits_dataset()
    return am.data.train_test_split(x, y, test_size=0.25, stratify=y, seed=0)


def _train(model, x, y, epochs):
    am.manual_seed(0)
    model.compile(optimizer=am.optim.AdamW(model.parameters(), lr=3e-3), loss="cross_entropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def cnn(digits):
    am.manual_seed(0)
    model = build_model()
    model.build((None, 1, 8, 8))
    return _train(model, digits[0], digits[2], 6)


@pytest.fixture(scope="module")
def mlp(digits):
    am.manual_seed(1)
    model = nn.Sequential([nn.Flatten(), nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"),
                           nn.Dense(10)])
    model.build((None, 1, 8, 8))
    return _train(model, digits[0], digits[2], 15)


@pytest.fixture(scope="module")
def float_sizes(cnn, mlp, tmp_path_factory):
    folder = tmp_path_factory.mktemp("float")
    sizes = {}
    for which, model in (("cnn", cnn), ("mlp", mlp)):
        am.onnx.export(model, folder / f"{which}.onnx")
        sizes[which] = os.path.getsize(folder / f"{which}.onnx")
    return sizes


WHOLE = [("cnn", "static"), ("mlp", "static"), ("mlp", "dynamic"), ("cnn", "dynamic"), ("mlp", "int4"),
         ("cnn", "int4"), ("mlp", "int8wo")]


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize("which, how", WHOLE, ids=[f"{w}-{h}" for w, h in WHOLE])
def test_quantised_digits_model(request, digits, float_sizes, tmp_path, which, how, opset):
    model = request.getfixturevalue(which)
    x_train, x_test, _, y_test = digits
    if how == "static":
        q = am.quant.quantize(model, x_train[:400])
    elif how == "dynamic":
        q = am.quant.quantize_dynamic(model)
    elif how == "int4":
        q = am.quant.quantize_weight_only(model, bits=4, group_size=32)
    else:
        q = am.quant.quantize_weight_only(model, bits=8, group_size=64)
    assert q.quantization_report.quantized
    path = tmp_path / "q.onnx"
    proto = am.onnx.export(q, path, opset=opset)
    expected = q.predict(x_test, batch_size=256)
    got = _run(path, x_test)
    agreement = float(np.mean(got.argmax(1) == expected.argmax(1)))
    assert agreement >= 0.99, agreement
    accuracy, q_accuracy = float(np.mean(got.argmax(1) == y_test)), float(np.mean(expected.argmax(1) == y_test))
    assert accuracy >= q_accuracy - 0.01
    err = float(np.abs(got - expected).max())
    scale = float(np.abs(expected).max())
    ops, ints = _ops(proto), _int_initializers(proto)
    size, float_size = os.path.getsize(path), float_sizes[which]
    weights = sum(_weight_count(m) for m in q.modules())  # elements of the quantised layers' weights
    if how == "static":
        assert err <= 0.01 * scale, err       # rounding ties and ORT's requantisation: ~0.3%
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops and ints
    elif how == "dynamic":
        assert err <= 0.05 * scale, err
        assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops and ints
    elif opset >= 21:
        assert err <= 0.03 * scale, err       # MatMulNBits at ORT's default int8-activation level
        assert "DequantizeLinear" in ops and ints
    else:
        assert err < 1e-4 and not ints        # float32 weights below opset 21: as large as float
        assert abs(size - float_size) < 0.05 * float_size
        return
    # int8 weights save 3 of 4 bytes, int4 ones 3.5 (less the scales): the file shrinks by about that
    saved = 3.5 - 4 / 32 if how == "int4" else 3 - (4 / 64 if how == "int8wo" else 0)
    assert size < float_size - 0.9 * saved * weights, (size, float_size, weights)


def _weight_count(layer) -> int:
    if type(layer).__name__ in ("QuantizedDense", "QuantizedConv2D"):
        return int(np.prod(layer.state_dict()["weight"].shape))
    if type(layer).__name__ == "WeightOnlyDense":
        return layer.get_config()["units"] * layer.get_config()["in_features"]
    return 0


# ------------------------------------------------------------------------------- errors

def test_supported_list_names_the_quantised_layers(tmp_path):
    class Twice(nn.Module):
        def forward(self, x):
            return x * 2

    model = nn.Sequential([nn.Dense(32, input_shape=(32,)), Twice()])
    model.build((None, 32))
    with pytest.raises(NotImplementedError, match=r"model\.layers\[1\] \(Twice\).*QuantizedDense.*WeightOnlyDense"):
        am.onnx.export(model, tmp_path / "u.onnx")


def test_sixteen_bit_quantised_layer_is_refused_by_name(tmp_path):
    model = nn.Sequential([nn.Dense(32)])
    model.build((None, 32))
    q = am.quant.quantize_dynamic(model, min_layer_size=0)
    q.to(am.float16)
    with pytest.raises(NotImplementedError, match=r"buffer '0\.weight_scale' is float16"):
        am.onnx.export(q, tmp_path / "h.onnx")
    assert not (tmp_path / "h.onnx").exists()


@pytest.mark.parametrize("opset", range(13, 22))
def test_every_opset_with_all_three_kinds(tmp_path, opset):
    """Static conv, dynamic Dense and int4 weight-only Dense in one model, at each opset export takes."""
    am.manual_seed(0)
    x = _x((3, 6, 6), 32)
    convs = nn.Sequential([nn.Conv2D(8, 3, padding="same", activation="relu"), nn.Flatten()])
    convs(am.asarray(x[:2]))
    h = convs.predict(x)
    dense = nn.Sequential([nn.Dense(32, activation="relu")])
    dense(am.asarray(h[:2]))
    head = nn.Sequential([nn.Dense(8)])
    head(am.asarray(np.zeros((2, 32), np.float32)))
    model = nn.Sequential([am.quant.quantize(convs, x, min_layer_size=0), am.quant.quantize_dynamic(dense),
                           am.quant.quantize_weight_only(head, bits=4, group_size=32)])
    model(am.asarray(x[:2]))
    proto = am.onnx.export(model, tmp_path / "m.onnx", opset=opset)   # checked against predict inside
    ops = _ops(proto)
    assert {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "Conv"} <= ops
    assert (onnx.TensorProto.INT4 in _int_initializers(proto).values()) == (opset >= 21)


def test_int8_attention_and_transformer_block_export(tmp_path):
    am.manual_seed(0)
    model = am.nn.Sequential([am.nn.Dense(32, input_shape=(6, 16)), am.nn.TransformerBlock(32, 4, mlp_dim=64),
                              am.nn.MultiHeadAttention(32, 4)])
    q = am.quant.quantize_dynamic(model)
    path = str(tmp_path / "attn.onnx")
    am.onnx.export(q, path)   # runs ONNX Runtime on the file and compares with predict
    import onnx
    import onnxruntime as ort

    ops = [n.op_type for n in onnx.load(path).graph.node]
    # the block's 4 projections and 2 MLP layers, the MHA's 4 (the first Dense, 16 x 32, is too small: float)
    assert ops.count("MatMulInteger") == 6 + 4
    x = np.random.default_rng(1).standard_normal((3, 6, 16)).astype(np.float32)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    ref = q.predict(x)
    assert np.abs(out - ref).max() < 0.05 * np.abs(ref).max()
